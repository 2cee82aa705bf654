"""Connector classes the tests register by class, entry point and dotted path."""

from automate.connectors import ActionSpec, ConnectorAdapter, ConnectorError

ORDERS = {}


class LegacyERPAdapter(ConnectorAdapter):
    code = "legacy_erp"
    name = "Legacy ERP System"
    description = "Integration with the on-prem SOAP ERP."
    actions = {
        "create_order": ActionSpec(
            inputs={
                "customer_id": {"type": "string", "required": True},
                "items": {"type": "array", "required": True},
            },
            outputs={"order_id": {"type": "string"}},
        )
    }

    def execute(self, action, params, context):
        if params["customer_id"] == "down":
            raise ConnectorError("ERP is down", retryable=True)
        ORDERS[context.idempotency_key] = params
        return {"order_id": f"ORD-{params['customer_id']}"}


class OtherERPAdapter(ConnectorAdapter):
    """A different class claiming the same code as LegacyERPAdapter."""

    code = "legacy_erp"
    name = "Another ERP"
    actions = {"ping": ActionSpec(inputs={})}

    def execute(self, action, params, context):
        return {}


class NotAConnector:
    code = "nope"
