"""The versions diff's old → new values never show a literal typed into a secret field,
however deep the field sits inside an input object."""

import pytest

from studio import diff_values
from studio.diff_values import node_value_changes

pytestmark = pytest.mark.django_db


def node(inputs):
    return {"id": "call", "type": "action", "connector": "custom", "action": "x", "inputs": inputs}


@pytest.mark.parametrize(
    "secret_fields",
    [{"connection.value"}, {"connection.value", "other"}, {"connection.deep.value"}],
)
def test_a_literal_in_a_nested_secret_field_is_masked(monkeypatch, secret_fields):
    monkeypatch.setattr(diff_values, "_secret_fields", lambda node: set(secret_fields))
    path = sorted(p for p in secret_fields if p.startswith("connection."))[0].split(".")[1:]

    def connection(value):
        inner = value
        for key in reversed(path):
            inner = {key: inner}
        return {**inner, "region": "eu"}

    before = node({"connection": connection("plain-old-value-1")})
    after = node({"connection": connection("plain-new-value-2")})
    (change,) = node_value_changes(before, after)
    assert change["field"] == "inputs.connection"
    shown = f"{change['before']} {change['after']}"
    assert "plain-old-value-1" not in shown
    assert "plain-new-value-2" not in shown
    assert "********" in change["before"]
    assert "********" in change["after"]
    assert '"region": "eu"' in change["after"], "the rest of the object stays readable"


def test_a_secret_reference_in_a_nested_field_stays_readable(monkeypatch):
    monkeypatch.setattr(diff_values, "_secret_fields", lambda node: {"connection.value"})
    before = node({"connection": {"value": {"$secret": "OLD_KEY"}}})
    after = node({"connection": {"value": {"$secret": "NEW_KEY"}}})
    (change,) = node_value_changes(before, after)
    assert "OLD_KEY" in change["before"]
    assert "NEW_KEY" in change["after"]
