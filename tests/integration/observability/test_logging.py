"""Log lines as an operator's log shipper reads them: the site's LOGGING config, real
formatted output, parsed back (LOGGING_SCHEMA "ecs" through ecs-logging, and "simple")."""

import io
import json
import logging
import logging.config

import pytest
from django.conf import settings

from automate.observability.log_context import bound

SLACK_TOKEN = "xoxb-123456789012-abcdefghijklmnopqrstuvwx"


@pytest.fixture
def lines(settings):
    """Log through a handler built from the site's own LOGGING config; read back lines."""
    stream = io.StringIO()
    config = {
        **settings.LOGGING,
        "handlers": {
            "console": {**settings.LOGGING["handlers"]["console"], "stream": stream},
        },
        "root": {"handlers": ["console"], "level": "DEBUG"},
    }
    logging.config.dictConfig(config)
    try:
        yield lambda: [line for line in stream.getvalue().splitlines() if line.strip()]
    finally:
        logging.config.dictConfig(settings.LOGGING)


def ecs(settings):
    settings.DJANGO_AUTOMATE = {**settings.DJANGO_AUTOMATE, "LOGGING_SCHEMA": "ecs"}


def test_a_line_written_while_handling_a_run_names_it(settings, lines):
    ecs(settings)
    # Nested on purpose: an inner binding adds to the outer one.
    with bound(trace_id="4bf92f3577b34da6a3ce929d0e0e4736", run_id=42, tenant="acme"):  # noqa: SIM117
        with bound(step_id=7, workflow="invoice-paid"):
            logging.getLogger("automate.connectors.http").info("calling %s", "crm")
    logging.getLogger("automate.worker").info("idle")
    inside, outside = (json.loads(line) for line in lines())
    assert inside["message"] == "calling crm"
    assert inside["log.level"] == "info"
    assert inside["log"]["logger"] == "automate.connectors.http"
    assert inside["ecs.version"]
    assert inside["trace"] == {"id": "4bf92f3577b34da6a3ce929d0e0e4736"}
    assert inside["automate"] == {
        "run": {"id": 42},
        "step": {"id": 7},
        "workflow": {"slug": "invoice-paid"},
        "tenant": {"slug": "acme"},
    }
    assert "automate" not in outside
    assert "trace" not in outside
    assert "original" not in inside["log"]


def test_other_extras_go_under_labels_and_the_trace_id_extra_is_trace_id(settings, lines):
    ecs(settings)
    logging.getLogger("django.request").warning(
        "Bad Request", extra={"status_code": 400, "request": object(), "trace_id": "ab" * 16}
    )
    (line,) = lines()
    doc = json.loads(line)
    assert doc["labels"]["status_code"] == 400
    assert doc["labels"]["request"].startswith("<object object")
    assert doc["trace"]["id"] == "ab" * 16
    assert "status_code" not in doc
    assert "trace_id" not in doc


def test_secrets_are_masked_in_message_extras_and_exception(settings, lines):
    ecs(settings)
    try:
        raise RuntimeError(f"Slack refused {SLACK_TOKEN}")
    except RuntimeError:
        logging.getLogger("automate.worker").exception(
            "step failed with %s", SLACK_TOKEN, extra={"token": SLACK_TOKEN}
        )
    (line,) = lines()
    assert SLACK_TOKEN not in line
    doc = json.loads(line)
    assert doc["error"]["type"] == "RuntimeError"
    assert doc["error"]["message"].startswith("Slack refused ")
    assert "Traceback" in doc["error"]["stack_trace"] or "line" in doc["error"]["stack_trace"]
    assert doc["message"].startswith("step failed with ")


def test_simple_schema_writes_readable_text(settings, lines):
    settings.DJANGO_AUTOMATE = {**settings.DJANGO_AUTOMATE, "LOGGING_SCHEMA": "simple"}
    with bound(run_id=42):
        logging.getLogger("automate.worker").info("hello %s", SLACK_TOKEN)
    (line,) = lines()
    assert " INFO automate.worker hello " in line
    assert SLACK_TOKEN not in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_bound_refuses_an_unknown_field():
    with pytest.raises(TypeError, match="run"), bound(run=1):
        pass


def test_the_site_runs_every_record_through_context_then_redaction():
    assert settings.LOGGING["handlers"]["console"]["filters"] == ["context", "redact"]
