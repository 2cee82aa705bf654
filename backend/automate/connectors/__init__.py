r"""Connectors: the only code that touches the outside world.

.. code-block:: python

    from automate.connectors import ActionSpec, ConnectorAdapter, ConnectorError, register_connector

    @register_connector
    class LegacyERPAdapter(ConnectorAdapter):
        code = "legacy_erp"
        name = "Legacy ERP System"
        actions = {
            "create_order": ActionSpec(
                inputs={"customer_id": {"type": "string", "required": True}},
                outputs={"order_id": {"type": "string"}},
            )
        }

        def execute(self, action, params, context):
            api_key = context.secrets["API_KEY"]
            ...
            return {"order_id": "42"}

The ``Connector`` style (``actions()`` / ``triggers()`` classmethods, ``execute_action``)
is accepted too (``automate.connectors.connector``); webhook triggers are ``TriggerSpec``\s
(``automate.connectors.triggers``).

The orchestrator runs an action with ``run_action(code, action, params, context)`` (or
``get_connector(code).run(...)`` after its own policy check). See
docs/howto/custom-connectors.md.
"""

from __future__ import annotations

from .base import ActionSpec, ConnectorAdapter, ExecutionContext, StepSecrets
from .connector import Connector, adapter_for
from .exceptions import (
    ConnectorError,
    ConnectorInputError,
    ConnectorNotAllowedError,
    ConnectorOutputError,
    ConnectorRegistrationError,
    MissingSecretError,
    UnknownActionError,
    UnknownConnectorError,
)
from .registry import (
    ENTRY_POINT_GROUP,
    ConnectorRegistry,
    all_connectors,
    check_connector_allowed,
    check_connector_allowlist,
    connector_allowed,
    connector_exists,
    connector_registry,
    get_action,
    get_connector,
    load_connectors,
    override,
    register,
    register_connector,
    run_action,
    unregister,
)
from .triggers import ConnectorTrigger, TriggerSpec, all_triggers, find_trigger

__all__ = [
    "ENTRY_POINT_GROUP",
    "ActionSpec",
    "Connector",
    "ConnectorAdapter",
    "ConnectorError",
    "ConnectorInputError",
    "ConnectorNotAllowedError",
    "ConnectorOutputError",
    "ConnectorRegistrationError",
    "ConnectorRegistry",
    "ConnectorTrigger",
    "ExecutionContext",
    "MissingSecretError",
    "StepSecrets",
    "TriggerSpec",
    "UnknownActionError",
    "UnknownConnectorError",
    "adapter_for",
    "all_connectors",
    "all_triggers",
    "check_connector_allowed",
    "check_connector_allowlist",
    "connector_allowed",
    "connector_exists",
    "connector_registry",
    "find_trigger",
    "get_action",
    "get_connector",
    "load_connectors",
    "override",
    "register",
    "register_connector",
    "run_action",
    "unregister",
]
