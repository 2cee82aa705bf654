"""The other connector style: ``Connector`` with ``actions()`` / ``triggers()`` classmethods.

.. code-block:: python

    from automate.connectors import ActionSpec, Connector, TriggerSpec

    class CRMConnector(Connector):
        key = "crm"
        display_name = "CRM"

        @classmethod
        def actions(cls):
            return [ActionSpec(name="create_contact", inputs={"email": {"type": "string"}})]

        @classmethod
        def triggers(cls):
            return [TriggerSpec(name="contact_created", verification_method="hmac")]

        def execute_action(self, action, input_data):
            token = self.context.secrets["CRM_TOKEN"]
            ...
            return {"id": "42"}

        def verify_webhook(self, headers, raw_body):
            ...  # self.signing_secret, self.now

The registry accepts such a class wherever it accepts a ``ConnectorAdapter`` (``register``,
``@register_connector``, the ``django_automate.connectors`` entry points,
``DJANGO_AUTOMATE["CONNECTORS"]``): ``adapter_for`` wraps it in a ``ConnectorAdapter``
subclass, so the catalog, the studio, execution and the publish checks see one interface.
A ``Connector`` is created per call: with the step's ``context`` for ``execute_action``,
with the endpoint's ``signing_secret``, the ``trigger`` name and ``now`` for
``verify_webhook``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .base import ActionSpec, ConnectorAdapter, ExecutionContext
from .exceptions import ConnectorRegistrationError
from .triggers import TriggerSpec

__all__ = ["Connector", "ConnectorStyleAdapter", "adapter_for"]

_ADAPTER_ATTRIBUTE = "_automate_adapter"


class Connector:
    """Base class of the ``actions()`` / ``triggers()`` connector style.

    * ``key`` (the connector code), ``display_name``, ``description``, ``icon`` (a Lucide
      name).
    * ``actions()``: a list of ``ActionSpec``\\s, each with its ``name``.
    * ``triggers()``: a list of ``TriggerSpec``\\s.
    * ``execute_action(action, input_data)``: run an action with validated inputs; return
      a JSON object (anything else is returned as ``{"result": value}``). The step's
      ``ExecutionContext`` is ``self.context`` (secrets, idempotency key, deadline).
    * ``verify_webhook(headers, raw_body) -> bool``: with ``self.signing_secret``,
      ``self.trigger`` and ``self.now`` (the receiver's ``time.time()``).
    """

    key: ClassVar[str] = ""
    display_name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    icon: ClassVar[str] = ""

    def __init__(
        self,
        *,
        context: ExecutionContext | None = None,
        signing_secret: str = "",
        trigger: str = "",
        now: float = 0.0,
    ) -> None:
        self.context = context if context is not None else ExecutionContext()
        self.signing_secret = signing_secret
        self.trigger = trigger
        self.now = now

    @classmethod
    def actions(cls) -> list[ActionSpec]:
        """The actions this connector offers (default: none)."""
        return []

    @classmethod
    def triggers(cls) -> list[TriggerSpec]:
        """The webhook triggers this connector offers (default: none)."""
        return []

    def execute_action(self, action: str, input_data: dict[str, Any]) -> Any:
        """Run ``action`` with validated ``input_data``; see the class docstring."""
        raise NotImplementedError(f"{type(self).__name__} has no action {action!r}")

    def verify_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> bool:
        """Whether a delivery is genuine (default: never)."""
        return False


class ConnectorStyleAdapter(ConnectorAdapter):
    """The ``ConnectorAdapter`` standing for a ``Connector`` class (see ``adapter_for``)."""

    connector_class: ClassVar[type[Connector]]

    def execute(
        self, action: str, params: dict[str, Any], context: ExecutionContext
    ) -> dict[str, Any]:
        result = self.connector_class(context=context).execute_action(action, params)
        return result if isinstance(result, dict) else {"result": result}

    def verify_webhook(
        self, headers: Mapping[str, str], raw_body: bytes, *, secret: str, trigger: str, now: float
    ) -> bool:
        connector = self.connector_class(signing_secret=secret, trigger=trigger, now=now)
        return connector.verify_webhook(headers, raw_body) is True


def _listed(cls: type[Connector], what: str, kind: type) -> dict[str, Any]:
    where = f"{cls.__module__}.{cls.__qualname__}.{what}()"
    try:
        items = getattr(cls, what)()
    except Exception as exc:  # the plug-in's own code
        raise ConnectorRegistrationError(f"{where} failed: {exc}") from exc
    if not isinstance(items, list | tuple):
        raise ConnectorRegistrationError(f"{where} must return a list, not {items!r}.")
    found: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, kind):
            raise ConnectorRegistrationError(f"{where} must return {kind.__name__}s, not {item!r}.")
        name = getattr(item, "name", "")
        if not name:
            raise ConnectorRegistrationError(f"{where}: every {kind.__name__} needs a name.")
        if name in found:
            raise ConnectorRegistrationError(f"{where} lists {name!r} twice.")
        found[name] = item
    return found


def adapter_for(cls: type[Connector]) -> type[ConnectorAdapter]:
    """The ``ConnectorAdapter`` subclass wrapping ``cls`` (made once, then reused).

    Raises ``ConnectorRegistrationError`` when ``actions()`` / ``triggers()`` fail or
    return something else than named specs.
    """
    made = cls.__dict__.get(_ADAPTER_ATTRIBUTE)
    if made is not None:
        return made  # type: ignore[no-any-return]
    attributes = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        "connector_class": cls,
        "code": cls.key,
        "name": cls.display_name,
        "description": cls.description,
        "icon": cls.icon,
        "actions": _listed(cls, "actions", ActionSpec),
        "triggers": _listed(cls, "triggers", TriggerSpec),
    }
    adapter = type(cls.__name__, (ConnectorStyleAdapter,), attributes)
    setattr(cls, _ADAPTER_ATTRIBUTE, adapter)
    return adapter
