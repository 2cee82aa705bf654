"""Connectors: the only code that touches the outside world.

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

The orchestrator runs an action with ``run_action(code, action, params, context)`` (or
``get_connector(code).run(...)`` after its own policy check). See
docs/howto/custom-connectors.md.
"""

from __future__ import annotations

from .base import ActionSpec, ConnectorAdapter, ExecutionContext, StepSecrets
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

__all__ = [
    "ENTRY_POINT_GROUP",
    "ActionSpec",
    "ConnectorAdapter",
    "ConnectorError",
    "ConnectorInputError",
    "ConnectorNotAllowedError",
    "ConnectorOutputError",
    "ConnectorRegistrationError",
    "ConnectorRegistry",
    "ExecutionContext",
    "MissingSecretError",
    "StepSecrets",
    "UnknownActionError",
    "UnknownConnectorError",
    "all_connectors",
    "check_connector_allowed",
    "check_connector_allowlist",
    "connector_allowed",
    "connector_exists",
    "connector_registry",
    "get_action",
    "get_connector",
    "load_connectors",
    "override",
    "register",
    "register_connector",
    "run_action",
    "unregister",
]
