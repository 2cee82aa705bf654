"""The email connector sends through Django's email backend (locmem in tests)."""

import smtplib

import django
import pytest
from django.core import mail
from django.test import override_settings

from automate.connectors import ConnectorError, ConnectorInputError, ExecutionContext
from automate.connectors.builtins.email import EmailConnector


@pytest.fixture
def ctx():
    return ExecutionContext(run_id="run-1", node_id="notify", tenant="acme")


def send(params, ctx):
    return EmailConnector().run("send", params, ctx)


def test_send_delivers_one_email_with_text_and_sanitised_html(ctx):
    output = send(
        {
            "to": ["ada@example.com", "bob@example.com"],
            "subject": "Invoice 42 paid",
            "text": "Thanks for paying.",
            "html": '<p onclick="steal()">Thanks <b>for</b> paying.<script>alert(1)</script>'
            '<a href="javascript:alert(2)">x</a><a href="https://example.com/i/42">view</a></p>',
            "cc": "carol@example.com, dan@example.com",
            "bcc": ["audit@example.com"],
            "reply_to": "billing@example.com",
        },
        ctx,
    )

    assert output == {"sent": 1, "to": ["ada@example.com", "bob@example.com"]}
    [message] = mail.outbox
    assert message.subject == "Invoice 42 paid"
    assert message.body == "Thanks for paying."
    assert message.to == ["ada@example.com", "bob@example.com"]
    assert message.cc == ["carol@example.com", "dan@example.com"]
    assert message.bcc == ["audit@example.com"]
    assert message.reply_to == ["billing@example.com"]
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert "<script" not in html
    assert "alert(1)" not in html
    assert "onclick" not in html
    assert "javascript:" not in html
    assert '<a href="https://example.com/i/42">view</a>' in html
    assert "<b>for</b>" in html


@override_settings(DEFAULT_FROM_EMAIL="robot@shop.example")
def test_from_defaults_to_default_from_email_and_can_be_set(ctx):
    send({"to": "ada@example.com", "subject": "a", "text": "b"}, ctx)
    send({"to": "ada@example.com", "subject": "a", "text": "b", "from_email": "me@x.io"}, ctx)
    assert [m.from_email for m in mail.outbox] == ["robot@shop.example", "me@x.io"]
    assert mail.outbox[0].alternatives == []


def test_every_attempt_of_a_step_sends_the_same_message_id(ctx):
    params = {"to": "ada@example.com", "subject": "a", "text": "b"}
    send(params, ctx)
    send(params, ExecutionContext(run_id="run-1", node_id="notify", attempt=2))
    send(params, ExecutionContext(run_id="run-2", node_id="notify"))
    ids = [m.extra_headers["Message-ID"] for m in mail.outbox]
    assert ids[0] == ids[1] != ids[2]


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"to": ["not-an-address"], "subject": "a", "text": "b"}, "inputs.to"),
        ({"to": " , ", "subject": "a", "text": "b"}, "inputs.to"),
        ({"to": "ada@example.com", "subject": "a", "text": "b", "cc": "nope"}, "inputs.cc"),
        ({"to": "ada@example.com", "text": "b"}, "inputs.subject"),
    ],
)
def test_bad_inputs_are_refused_and_nothing_is_sent(params, path, ctx):
    with pytest.raises(ConnectorInputError) as caught:
        send(params, ctx)
    assert caught.value.retryable is False
    assert path in [e["path"] for e in caught.value.errors]
    assert mail.outbox == []


def test_a_newline_in_the_subject_is_refused(ctx):
    with pytest.raises(ConnectorError) as caught:
        send({"to": "ada@example.com", "subject": "hi\nBcc: x@evil.test", "text": "b"}, ctx)
    assert caught.value.retryable is False
    assert mail.outbox == []


class FailingBackend:
    error: Exception = OSError("Connection refused")

    def __init__(self, **kwargs):
        pass

    def send_messages(self, messages):
        raise FailingBackend.error


def email_backend(path):
    """Send this test's email through ``path``: Django 6.1 reads MAILERS, 5.2 EMAIL_BACKEND."""
    if django.VERSION >= (6, 1):
        return override_settings(MAILERS={"default": {"BACKEND": path}})
    return override_settings(EMAIL_BACKEND=path)


@email_backend(f"{__name__}.FailingBackend")
@pytest.mark.parametrize(
    ("error", "retryable", "code"),
    [
        (OSError("Connection refused"), True, "email_unavailable"),
        (smtplib.SMTPServerDisconnected("gone"), True, "email_unavailable"),
        (smtplib.SMTPDataError(451, b"try later"), True, "email_unavailable"),
        (smtplib.SMTPDataError(554, b"rejected"), False, "email_rejected"),
        (
            smtplib.SMTPRecipientsRefused({"ada@example.com": (550, b"no such user")}),
            False,
            "email_rejected",
        ),
    ],
)
def test_smtp_failures_say_whether_to_retry(error, retryable, code, ctx, monkeypatch):
    monkeypatch.setattr(FailingBackend, "error", error)
    with pytest.raises(ConnectorError) as caught:
        send({"to": "ada@example.com", "subject": "a", "text": "b"}, ctx)
    assert caught.value.retryable is retryable
    assert caught.value.code == code
