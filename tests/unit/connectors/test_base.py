import json
import pickle
import re
import time

import pytest

from automate.connectors import (
    ActionSpec,
    ConnectorAdapter,
    ConnectorError,
    ConnectorInputError,
    ConnectorRegistrationError,
    ExecutionContext,
)
from automate.exceptions import AutomateError, NotFoundError
from automate.observability.tracing import parse_traceparent

from .adapters import LegacyERPAdapter

SLACK_TOKEN = "xoxb-1234567890-abcdefghijklmnop"

FULL_SCHEMA = {
    "type": "object",
    "properties": {
        "channel": {"type": "string"},
        "text": {"type": "string", "minLength": 1},
        "thread_ts": {"type": "string"},
    },
    "required": ["channel", "text"],
}
SHORTHAND = {
    "channel": {"type": "string", "required": True},
    "text": {"type": "string", "minLength": 1, "required": True},
    "thread_ts": {"type": "string"},
}


def context(**overrides):
    return ExecutionContext(run_id="run-1", node_id="notify", **overrides)


class Recorder(ConnectorAdapter):
    """Runs whatever the test put in ``behaviour`` and records that execute was called."""

    code = "recorder"
    actions = {
        "post": ActionSpec(inputs=SHORTHAND),
        "greet": ActionSpec(inputs={"greeting": {"type": "string", "default": "hello"}}),
    }

    def __init__(self, behaviour=None):
        self.behaviour = behaviour or (lambda params: {"ok": True})
        self.calls = []

    def execute(self, action, params, context):
        self.calls.append((action, params))
        return self.behaviour(params)


def raising(exc):
    def behaviour(params):
        raise exc

    return behaviour


# --- ActionSpec: schemas ------------------------------------------------------------


def test_shorthand_and_full_schema_normalise_to_the_same_json_schema():
    assert ActionSpec(inputs=SHORTHAND).input_schema == FULL_SCHEMA
    assert ActionSpec(inputs=FULL_SCHEMA).input_schema == FULL_SCHEMA


def test_the_product_docs_shorthand_works():
    spec = LegacyERPAdapter.actions["create_order"]
    assert spec.input_schema["required"] == ["customer_id", "items"]
    assert spec.output_schema == {"type": "object", "properties": {"order_id": {"type": "string"}}}


def test_required_flags_in_nested_objects_are_understood():
    spec = ActionSpec(
        inputs={
            "address": {
                "type": "object",
                "required": True,
                "properties": {"street": {"type": "string", "required": True}},
            }
        }
    )
    assert spec.input_schema["properties"]["address"]["required"] == ["street"]
    problems = spec.input_errors({"address": {}})
    assert problems == [
        {"path": "inputs.address.street", "message": "'street' is a required property"}
    ]


def test_no_outputs_means_any_object():
    assert ActionSpec(inputs={}).output_schema == {"type": "object"}


@pytest.mark.parametrize(
    ("inputs", "fragment"),
    [
        ({"channel": "string"}, "field 'channel' must map to a JSON Schema dict"),
        ({"channel": {"type": "strin"}}, "not a valid JSON Schema"),
        ({"type": "object", "required": "channel"}, "not a valid JSON Schema"),
        (["channel"], "must be a dict"),
    ],
)
def test_an_invalid_schema_is_refused_when_the_connector_is_defined(inputs, fragment):
    with pytest.raises(ConnectorRegistrationError, match=re.escape(fragment)):
        ActionSpec(inputs=inputs)


# --- ActionSpec: validation ---------------------------------------------------------


@pytest.mark.parametrize("inputs", [FULL_SCHEMA, SHORTHAND], ids=["full", "shorthand"])
def test_every_problem_is_listed_with_its_path(inputs):
    spec = ActionSpec(inputs=inputs)
    with pytest.raises(ConnectorInputError) as caught:
        spec.validate_inputs({"text": "", "thread_ts": 5})
    error = caught.value
    assert error.code == "invalid_inputs"
    assert error.retryable is False
    assert error.errors == [
        {"path": "inputs.channel", "message": "'channel' is a required property"},
        {"path": "inputs.text", "message": "'' should be non-empty"},
        {"path": "inputs.thread_ts", "message": "5 is not of type 'string'"},
    ]
    assert "inputs.channel: 'channel' is a required property" in str(error)
    assert "inputs.thread_ts: 5 is not of type 'string'" in str(error)


def test_paths_reach_into_lists_and_objects():
    spec = ActionSpec(
        inputs={
            "items": {
                "type": "array",
                "items": {"type": "object", "properties": {"sku": {"type": "string"}}},
            }
        }
    )
    assert spec.input_errors({"items": [{"sku": "A"}, {"sku": 7}]}) == [
        {"path": "inputs.items[1].sku", "message": "7 is not of type 'string'"}
    ]


def test_inputs_that_are_not_an_object_are_rejected():
    with pytest.raises(ConnectorInputError, match=r"inputs: .* is not of type 'object'"):
        ActionSpec(inputs=SHORTHAND).validate_inputs(["#ops"])


def test_valid_inputs_come_back_with_defaults_filled_in():
    spec = Recorder.actions["greet"]
    assert spec.validate_inputs({}) == {"greeting": "hello"}
    assert spec.validate_inputs({"greeting": "hi"}) == {"greeting": "hi"}


def test_formats_are_checked():
    spec = ActionSpec(inputs={"to": {"type": "string", "format": "email", "required": True}})
    assert spec.input_errors({"to": "not-an-email"}) == [
        {"path": "inputs.to", "message": "'not-an-email' is not a 'email'"}
    ]


# --- ActionSpec: secrets ------------------------------------------------------------


def test_secret_fields_are_listed_with_either_marker_and_at_any_depth():
    spec = ActionSpec(
        inputs={
            "api_key": {"type": "string", "format": "secret", "required": True},
            "auth": {
                "type": "object",
                "properties": {"token": {"type": "string", "x-secret": True}},
            },
            "channel": {"type": "string"},
        }
    )
    assert spec.secret_fields() == ["api_key", "auth.token"]
    assert ActionSpec(inputs=SHORTHAND).secret_fields() == []


def test_a_problem_with_a_secret_field_never_shows_its_value():
    spec = ActionSpec(inputs={"api_key": {"type": "string", "format": "secret", "pattern": "^sk_"}})
    problems = spec.input_errors({"api_key": "hunter2-is-my-password"})
    assert len(problems) == 1
    assert problems[0]["path"] == "inputs.api_key"
    assert "hunter2" not in problems[0]["message"]


def test_credential_shaped_values_are_masked_in_problems():
    spec = ActionSpec(inputs={"count": {"type": "integer"}})
    [problem] = spec.input_errors({"count": SLACK_TOKEN})
    assert SLACK_TOKEN not in problem["message"]
    assert "********" in problem["message"]


# --- ConnectorAdapter.run -----------------------------------------------------------


def test_run_validates_then_executes_and_returns_the_output():
    adapter = Recorder()
    assert adapter.run("post", {"channel": "#ops", "text": "hi"}, context()) == {"ok": True}
    assert adapter.calls == [("post", {"channel": "#ops", "text": "hi"})]


def test_execute_receives_defaults():
    adapter = Recorder(lambda params: dict(params))
    assert adapter.run("greet", {}, context()) == {"greeting": "hello"}


def test_an_unknown_action_is_not_retryable_and_never_executes():
    adapter = Recorder()
    with pytest.raises(ConnectorError) as caught:
        adapter.run("delete_everything", {}, context())
    assert caught.value.code == "unknown_action"
    assert caught.value.retryable is False
    assert "'delete_everything'" in str(caught.value)
    assert "greet, post" in str(caught.value)
    assert adapter.calls == []


def test_invalid_inputs_never_reach_execute():
    adapter = Recorder()
    with pytest.raises(ConnectorInputError) as caught:
        adapter.run("post", {"text": "hi"}, context())
    assert str(caught.value).startswith("Invalid inputs for recorder.post: inputs.channel")
    assert adapter.calls == []


@pytest.mark.parametrize(
    ("output", "fragment"),
    [
        (None, "returned NoneType, not a JSON object"),
        (["ok"], "returned list, not a JSON object"),
        ("ok", "returned str, not a JSON object"),
        ({"when": time}, "output.when is a module, not a JSON value"),
        ({"tags": {"a", "b"}}, "output.tags is a set"),
        ({"ratio": float("nan")}, "output.ratio is nan"),
        ({1: "one"}, "the key 1"),
        ({"rows": [{"n": 1}, {"n": b"x"}]}, "output.rows[1].n is a bytes"),
    ],
)
def test_the_output_must_be_a_json_object(output, fragment):
    adapter = Recorder(lambda params: output)
    with pytest.raises(ConnectorError) as caught:
        adapter.run("post", {"channel": "#ops", "text": "hi"}, context())
    assert caught.value.code == "invalid_output"
    assert caught.value.retryable is False
    assert fragment in str(caught.value)


def test_json_outputs_of_every_kind_are_accepted():
    output = {"s": "x", "i": 1, "f": 1.5, "b": False, "n": None, "l": [1, {"d": []}], "o": {}}
    adapter = Recorder(lambda params: output)
    assert adapter.run("post", {"channel": "#ops", "text": "hi"}, context()) == output


def test_an_unexpected_exception_becomes_a_retryable_error_with_secrets_masked():
    failure = RuntimeError(f"Slack said invalid_auth for token {SLACK_TOKEN}")
    adapter = Recorder(raising(failure))
    with pytest.raises(ConnectorError) as caught:
        adapter.run("post", {"channel": "#ops", "text": "hi"}, context())
    error = caught.value
    assert error.retryable is True
    assert error.code == "connector_error"
    assert SLACK_TOKEN not in str(error)
    assert str(error) == "Slack said invalid_auth for token ********"
    assert error.details["exception"] == "builtins.RuntimeError"
    assert error.details["connector"] == "recorder"
    assert error.__cause__ is failure


def test_an_exception_without_text_is_named_by_its_type():
    adapter = Recorder(raising(TimeoutError()))
    with pytest.raises(ConnectorError, match=r"^TimeoutError$") as caught:
        adapter.run("post", {"channel": "#ops", "text": "hi"}, context())
    assert caught.value.retryable is True


def test_a_connector_error_passes_through_unchanged():
    original = ConnectorError("channel_not_found", retryable=False, code="slack_error")
    adapter = Recorder(raising(original))
    with pytest.raises(ConnectorError) as caught:
        adapter.run("post", {"channel": "#ops", "text": "hi"}, context())
    assert caught.value is original


def test_another_automate_error_keeps_its_code_and_retryability():
    adapter = Recorder(raising(NotFoundError("Customer 42 does not exist")))
    with pytest.raises(ConnectorError) as caught:
        adapter.run("post", {"channel": "#ops", "text": "hi"}, context())
    assert caught.value.code == "resource_not_found"
    assert caught.value.retryable is False
    assert isinstance(caught.value, AutomateError)


def test_describe_is_json_for_the_studio():
    description = LegacyERPAdapter().describe()
    assert json.loads(json.dumps(description)) == description
    assert description["code"] == "legacy_erp"
    [action] = description["actions"]
    assert action["name"] == "create_order"
    assert action["label"] == "Create order"
    assert action["input_schema"]["required"] == ["customer_id", "items"]


# --- ConnectorError -----------------------------------------------------------------


def test_connector_error_defaults():
    error = ConnectorError("boom")
    assert (error.retryable, error.code, error.details, error.retry_after) == (
        False,
        "connector_error",
        {},
        None,
    )
    assert error.as_dict() == {"code": "connector_error", "message": "boom", "details": {}}


def test_connector_errors_survive_crossing_a_process_boundary():
    error = ConnectorError("rate limited", True, code="rate_limited", retry_after=30.0)
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.retryable, copy.code, copy.retry_after) == (
        "rate limited",
        True,
        "rate_limited",
        30.0,
    )
    inputs = pickle.loads(pickle.dumps(ConnectorInputError("bad", errors=[{"path": "inputs"}])))
    assert inputs.errors == [{"path": "inputs"}]


# --- ExecutionContext ---------------------------------------------------------------


def test_traceparent_continues_the_run_trace():
    ctx = context(trace_id="4bf92f3577b34da6a3ce929d0e0e4736")
    header = ctx.traceparent()
    assert re.fullmatch(r"00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01", header)
    assert parse_traceparent(header) == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert ctx.traceparent() == header  # one span per step


def test_a_context_without_a_trace_id_gets_a_fresh_one():
    assert re.fullmatch(r"[0-9a-f]{32}", context().trace_id)
    assert context().trace_id != context().trace_id


def test_the_idempotency_key_is_the_same_on_every_attempt():
    assert context(attempt=1).idempotency_key == "run-1:notify"
    assert context(attempt=3).idempotency_key == "run-1:notify"


def test_secrets_are_readable_by_name_but_never_printed():
    ctx = context(secrets={"API_KEY": "s3cr3t-value"})
    assert ctx.secrets["API_KEY"] == "s3cr3t-value"
    assert ctx.secrets.get("API_KEY") == "s3cr3t-value"
    assert ctx.secrets.get("OTHER") is None
    assert "s3cr3t-value" not in repr(ctx)
    assert "s3cr3t-value" not in repr(ctx.secrets)
    assert "API_KEY" in repr(ctx.secrets)


def test_reading_a_secret_the_step_did_not_reference_is_a_clear_non_retryable_error():
    ctx = context(secrets={"SLACK_TOKEN": "xoxb-123"})
    adapter = Recorder(lambda params: {"key": ctx.secrets["API_KEY"]})
    with pytest.raises(ConnectorError) as caught:
        adapter.run("post", {"channel": "#ops", "text": "hi"}, ctx)
    assert caught.value.code == "secret_not_provided"
    assert caught.value.retryable is False
    assert '{"$secret": "API_KEY"}' in str(caught.value)


def test_the_deadline_is_timeout_seconds_away():
    ctx = context(timeout_seconds=30)
    assert 29 < ctx.remaining_seconds() <= 30
    assert context(deadline=time.monotonic() - 1).remaining_seconds() == 0.0


def test_the_context_cannot_be_changed_by_a_connector():
    ctx = context()
    with pytest.raises(AttributeError):
        ctx.attempt = 2
    with pytest.raises(TypeError):
        ctx.secrets["API_KEY"] = "x"
