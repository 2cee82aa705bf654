"""Connector triggers: webhooks a connector knows how to verify and read.

A connector declares its triggers as ``TriggerSpec``\\s (``triggers = {"events":
TriggerSpec(...)}`` on a ``ConnectorAdapter``, or ``triggers()`` on a ``Connector``) and
implements ``verify_webhook(headers, raw_body, *, secret, trigger, now)``. Each trigger is
a webhook *scheme*: ``WebhookEndpoint.scheme`` and a workflow's
``trigger_spec["webhook"]["scheme"]`` name it, and ``POST /hooks/<slug>/`` asks the
connector whether a delivery is genuine (``automate.triggers.webhooks``).

The scheme of a trigger is ``spec.scheme`` when given (the built-ins: ``stripe``,
``github``, ``slack``), else ``"<connector code>.<trigger name>"``. The product's own
``generic`` scheme is not a connector's.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .base import ConnectorAdapter

__all__ = [
    "GENERIC_SCHEME",
    "SCHEME_PATTERN",
    "TRIGGER_NAME_PATTERN",
    "ConnectorTrigger",
    "MissingDeliveryIdError",
    "TriggerSpec",
    "WebhookTriggers",
    "all_triggers",
    "body_digest",
    "find_trigger",
    "header",
    "scheme_choices",
    "scheme_names",
]

TRIGGER_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
SCHEME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,49}(\.[a-z][a-z0-9_]{0,63})?$")
GENERIC_SCHEME = "generic"
_GENERIC_LABEL = "Generic (X-Signature: t=…,v1=…, over t, delivery id and body)"


class MissingDeliveryIdError(Exception):
    """A verified delivery carries no delivery id, so a replay could not be recognised.

    ``where`` names what was expected (``'the body\\'s "id"'``, ``"the X-GitHub-Delivery
    header"``); the endpoint answers 400 ``missing_delivery_id`` with it.
    """

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name`` (any case) in ``headers``, or ``None``."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def body_digest(raw_body: bytes) -> str:
    """``"body-sha256:<hex>"``: a delivery id taken from the signed body itself."""
    return "body-sha256:" + hashlib.sha256(raw_body).hexdigest()


@dataclass(frozen=True, kw_only=True)
class TriggerSpec:
    """One webhook trigger a connector offers.

    * ``name``: the trigger's name, ``^[a-z][a-z0-9_]{0,63}$`` (``"events"``).
    * ``verification_method``: how deliveries are verified, in words shown in the studio
      (``"hmac"``, ``"Slack signing secret (v0)"``); ``verify_webhook`` does the work.
    * ``event_type``: the event type deliveries are recorded as, or a pattern of them
      (``"github.*"``); the default type of a trigger node on this scheme.
    * ``sample_payload``: a JSON object shaped like a real delivery's body, offered in
      the studio as the trigger's sample (pin it to build the steps before a delivery).
    * ``scheme``: the scheme name; default ``"<connector code>.<name>"``.
    * ``label``, ``description``: for people.
    """

    name: str
    verification_method: str = "hmac"
    event_type: str = ""
    sample_payload: dict[str, Any] = field(default_factory=dict)
    scheme: str = ""
    label: str = ""
    description: str = ""

    def problems(self) -> list[str]:
        """What is wrong with this spec (empty when fine)."""
        found: list[str] = []
        if not isinstance(self.name, str) or not TRIGGER_NAME_PATTERN.fullmatch(self.name):
            found.append(f"trigger name {self.name!r} must match {TRIGGER_NAME_PATTERN.pattern}")
        if self.scheme and not SCHEME_PATTERN.fullmatch(self.scheme):
            found.append(f"trigger scheme {self.scheme!r} must match {SCHEME_PATTERN.pattern}")
        if self.scheme == GENERIC_SCHEME:
            found.append("the scheme 'generic' is the product's own")
        if not isinstance(self.sample_payload, dict):
            found.append(f"trigger {self.name!r}: sample_payload must be a dict")
        return found


@dataclass(frozen=True)
class ConnectorTrigger:
    """A registered connector's trigger: the connector, the spec and its scheme."""

    adapter: ConnectorAdapter
    spec: TriggerSpec
    scheme: str

    @property
    def label(self) -> str:
        """``"Slack: Events API (Slack signing secret (v0))"`` for choice lists."""
        title = self.spec.label or self.spec.name.replace("_", " ").capitalize()
        return (
            f"{self.adapter.name or self.adapter.code}: {title} ({self.spec.verification_method})"
        )

    def describe(self) -> dict[str, Any]:
        """The trigger as JSON (the catalog, the studio)."""
        return {
            "name": self.spec.name,
            "scheme": self.scheme,
            "label": self.spec.label or self.spec.name.replace("_", " ").capitalize(),
            "description": self.spec.description,
            "verification_method": self.spec.verification_method,
            "event_type": self.event_type,
            "sample_payload": dict(self.spec.sample_payload),
        }

    @property
    def event_type(self) -> str:
        return self.spec.event_type or f"{self.adapter.code}.{self.spec.name}"


class WebhookTriggers:
    """What ``ConnectorAdapter`` knows about webhooks; override the hooks you need.

    ``verify_webhook`` is the one a connector with triggers must implement; the others
    have defaults that suit most services.
    """

    code: ClassVar[str] = ""
    triggers: ClassVar[dict[str, TriggerSpec]] = {}

    @classmethod
    def trigger_problems(cls) -> list[str]:
        """What is wrong with ``triggers`` (empty when fine)."""
        if not isinstance(cls.triggers, dict):
            return ["triggers must be a dict of trigger name to TriggerSpec"]
        found: list[str] = []
        for name, spec in cls.triggers.items():
            if not isinstance(spec, TriggerSpec):
                found.append(f"triggers[{name!r}] must be a TriggerSpec, not {spec!r}")
                continue
            if spec.name != name:
                found.append(f"triggers[{name!r}] holds a TriggerSpec named {spec.name!r}")
            found.extend(spec.problems())
        return found

    def trigger_scheme(self, name: str) -> str:
        """The scheme of trigger ``name``: its ``scheme`` or ``"<code>.<name>"``."""
        return self.triggers[name].scheme or f"{self.code}.{name}"

    def verify_webhook(
        self,
        headers: Mapping[str, str],
        raw_body: bytes,
        *,
        secret: str,
        trigger: str,
        now: float,
    ) -> bool:
        """Whether ``raw_body`` with ``headers`` is a genuine delivery of ``trigger``.

        ``secret`` is the endpoint's signing secret (never empty), ``now`` the
        receiver's clock (``time.time()``). Compare in constant time
        (``hmac.compare_digest``) and refuse signed timestamps too far from ``now``.
        Raising counts as "not verified". The default verifies nothing.
        """
        return False

    def webhook_event_type(
        self, trigger: str, headers: Mapping[str, str], payload: dict[str, Any]
    ) -> str:
        """The event type a verified delivery is recorded as (default: the spec's)."""
        spec = self.triggers[trigger]
        if spec.event_type and "*" not in spec.event_type:
            return spec.event_type
        return f"{self.code}.{trigger}"

    def webhook_delivery_id(
        self,
        trigger: str,
        headers: Mapping[str, str],
        raw_body: bytes,
        payload: dict[str, Any],
        *,
        delivery_id_header: str = "",
    ) -> str:
        """A delivery's unique id, from content the signature covers (replays are
        recognised by it). Default: the body's digest. Raise ``MissingDeliveryIdError``
        when the delivery lacks one; ``delivery_id_header`` is the endpoint's setting."""
        return body_digest(raw_body)

    def webhook_reply(self, trigger: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """A JSON answer for a verified handshake delivery (nothing is recorded), or
        ``None`` for a delivery that is an event (the default)."""
        return None

    def webhook_test_delivery(self, trigger: str, secret: str) -> tuple[dict[str, str], bytes]:
        """Headers and body of a correctly signed delivery, a new one on each call (the
        studio's "Send a signed test delivery"). Default: none offered
        (``NotImplementedError``)."""
        raise NotImplementedError


def new_nonce() -> str:
    """A random 32-hex-digit id for test deliveries."""
    return uuid.uuid4().hex


def all_triggers(*, allowed_only: bool = False) -> list[ConnectorTrigger]:
    """Every registered connector's triggers, sorted by scheme."""
    from .registry import all_connectors

    found = [
        ConnectorTrigger(adapter, spec, adapter.trigger_scheme(name))
        for adapter in all_connectors(allowed_only=allowed_only)
        for name, spec in adapter.triggers.items()
    ]
    return sorted(found, key=lambda item: item.scheme)


def find_trigger(scheme: str) -> ConnectorTrigger | None:
    """The connector trigger whose scheme is ``scheme``, or ``None``."""
    return next((item for item in all_triggers() if item.scheme == scheme), None)


def scheme_names() -> list[str]:
    """Every scheme a webhook endpoint may use: ``generic`` and the connector triggers'."""
    return [GENERIC_SCHEME, *(item.scheme for item in all_triggers())]


def scheme_choices() -> list[tuple[str, str]]:
    """``(scheme, label)`` pairs for choice lists (the model field, the studio)."""
    from django.utils.translation import gettext

    return [
        (GENERIC_SCHEME, gettext(_GENERIC_LABEL)),
        *((item.scheme, item.label) for item in all_triggers()),
    ]
