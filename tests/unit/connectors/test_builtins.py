import logging

import pytest

from automate.connectors import ConnectorInputError, ExecutionContext, get_connector
from automate.connectors.builtins.log import LogConnector
from automate.connectors.builtins.transform import TransformConnector

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def ctx():
    return ExecutionContext(run_id="run-7", node_id="audit", trace_id=TRACE_ID, tenant="acme")


@pytest.fixture
def builtins(empty_registry):
    from automate.connectors import register

    register(LogConnector)
    register(TransformConnector)


def test_log_write_logs_the_message_with_the_trace_id(builtins, ctx, caplog):
    caplog.set_level(logging.DEBUG, logger="automate.connectors.log")
    output = get_connector("log").run(
        "write", {"message": "Invoice 42 paid", "level": "warning", "data": {"id": 42}}, ctx
    )
    assert output == {"logged": True, "message": "Invoice 42 paid"}
    [record] = caplog.records
    assert record.name == "automate.connectors.log"
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "Invoice 42 paid"
    assert record.trace_id == TRACE_ID
    assert (record.run_id, record.node_id, record.tenant) == ("run-7", "audit", "acme")
    assert record.data == {"id": 42}


def test_log_write_defaults_to_info(builtins, ctx, caplog):
    caplog.set_level(logging.DEBUG, logger="automate.connectors.log")
    get_connector("log").run("write", {"message": "hello"}, ctx)
    assert [r.levelname for r in caplog.records] == ["INFO"]


def test_log_write_masks_secrets_in_what_it_logs(builtins, ctx, caplog):
    caplog.set_level(logging.DEBUG, logger="automate.connectors.log")
    token = "xoxb-1234567890-abcdefghijklmnop"
    get_connector("log").run(
        "write", {"message": f"using {token}", "data": {"password": "hunter2"}}, ctx
    )
    [record] = caplog.records
    assert token not in record.getMessage()
    assert record.data == {"password": "********"}


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({}, "inputs.message"),
        ({"message": "x", "level": "loud"}, "inputs.level"),
        ({"message": "x", "data": "not an object"}, "inputs.data"),
    ],
)
def test_log_write_rejects_bad_inputs(builtins, ctx, caplog, params, path):
    with pytest.raises(ConnectorInputError) as caught:
        get_connector("log").run("write", params, ctx)
    assert [e["path"] for e in caught.value.errors] == [path]
    assert caplog.records == []


def test_transform_map_outputs_the_rendered_fields(builtins, ctx):
    fields = {"total": 49.5, "customer": {"name": "Ada"}, "tags": ["vip"]}
    output = get_connector("transform").run("map", {"fields": fields}, ctx)
    assert output == fields
    output["customer"]["name"] = "changed"
    assert fields["customer"]["name"] == "Ada"


def test_transform_map_needs_fields(builtins, ctx):
    with pytest.raises(ConnectorInputError, match=r"inputs\.fields: 'fields' is a required"):
        get_connector("transform").run("map", {}, ctx)


def test_the_builtins_are_idempotent_and_describe_themselves(builtins):
    assert get_connector("log").actions["write"].idempotent
    assert get_connector("transform").actions["map"].idempotent
    assert get_connector("log").describe()["actions"][0]["input_schema"]["required"] == ["message"]
