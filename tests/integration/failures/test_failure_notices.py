"""Failure notifications: one message per failed run to Slack (a local server speaking
chat.postMessage) and by email, with secrets masked, retried, and a quiet period."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from automate.execution.models import ExecutionRun
from automate.failures.models import RunFailure
from automate.failures.notify import deliver_notice, send_due_notices
from automate.failures.settings import FailureSettings, update_failure_settings
from automate.governance.models import AuditLogEntry
from automate.runtime import emit_event
from automate.workflows.exceptions import WorkflowValidationError
from tests.integration.connectors.http_servers import LocalServer, Reply
from tests.integration.connectors.test_email import email_backend

from .test_error_workflow import SECRET_LOOKING, failing

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "xoxb-111111111111-2222222222222-AbCdEfGhIjKlMnOpQrStUvWx"


def fake_slack(request):
    if request.path != "/api/chat.postMessage" or request.method != "POST":
        return Reply(404, body="not found")
    if request.headers.get("authorization") != f"Bearer {TOKEN}":
        return Reply(body={"ok": False, "error": "invalid_auth"})
    channel = request.json().get("channel")
    if channel == "#down":
        return Reply(503, body="upstream unavailable")
    if channel != "#ops":
        return Reply(body={"ok": False, "error": "channel_not_found"})
    return Reply(body={"ok": True, "channel": "C0123456789", "ts": "1700000000.000100"})


@pytest.fixture
def slack(monkeypatch):
    monkeypatch.setenv("AUTOMATE_SLACK_BOT", TOKEN)
    with LocalServer(fake_slack) as server:
        options = {"slack": {"base_url": f"{server.url}/api/"}}
        automate = {
            **settings.DJANGO_AUTOMATE,
            "POLICY": {
                **settings.DJANGO_AUTOMATE.get("POLICY", {}),
                "http_allowlist": ["127.0.0.1"],
            },
            "CONNECTOR_OPTIONS": options,
        }
        locmem = "django.core.mail.backends.locmem.EmailBackend"
        with override_settings(DJANGO_AUTOMATE=automate), email_backend(locmem):
            yield server


def notify(workflow, **values):
    values.setdefault("slack_channel", "#ops")
    values.setdefault("slack_token_secret", "SLACK_BOT")
    return update_failure_settings(workflow=workflow, values=FailureSettings(**values))


def test_a_failed_run_is_posted_to_slack_once_with_the_token_masked(slack):
    billing = failing(message=f"upstream said token={TOKEN}")
    notify(billing, email_to="ops@example.com, cfo@example.com")

    emit_event("invoice.paid", {"id": "in_1"})

    run = ExecutionRun.objects.get()
    [request] = slack.requests
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    text = request.json()["text"]
    assert request.json()["channel"] == "#ops"
    assert f"Run failed: {billing.name} (v1)" in text
    assert f"Run: {settings.SITE_URL}/studio/runs/{run.pk}/" in text
    assert "charge" in text
    assert TOKEN not in text
    [email] = mail.outbox
    assert email.to == ["ops@example.com", "cfo@example.com"]
    assert email.subject == f"Run failed: {billing.name}"
    assert TOKEN not in email.body
    failure = RunFailure.objects.get(run=run)
    assert failure.notice_status == "sent"
    assert sorted(failure.notice_channels_sent) == ["email", "slack"]
    # The duty finds nothing more to send: one message per failed run.
    assert send_due_notices() == 0
    assert deliver_notice(failure.pk) == ""
    assert len(slack.requests) == 1
    # The audit entry says what changed, never the token's value.
    entry = AuditLogEntry.objects.get(action="workflow.failure_settings")
    assert entry.details["changed"]["notify_slack_channel"] == {"old": "", "new": "#ops"}
    assert TOKEN not in str(entry.details)


def test_a_slack_outage_is_retried_by_the_duty_and_email_is_not_sent_twice(slack):
    billing = failing()
    notify(billing, slack_channel="#down", email_to="ops@example.com")
    emit_event("invoice.paid", {"id": "in_1"})

    failure = RunFailure.objects.get()
    assert failure.notice_status == "pending"
    assert failure.notice_channels_sent == ["email"]
    assert "slack" in failure.notice_error
    assert len(mail.outbox) == 1
    # Due again later: the duty tries Slack (still down), then gives up after MAX_ATTEMPTS.
    for _ in range(2):
        RunFailure.objects.update(notice_due_at=timezone.now())
        assert send_due_notices() == 1
    failure.refresh_from_db()
    assert (failure.notice_status, failure.notice_attempts) == ("failed", 3)
    assert len(slack.requests) == 3
    assert len(mail.outbox) == 1


def test_a_sender_that_died_mid_way_is_taken_over_after_its_lease(slack):
    from automate.failures import notify as notify_module

    notify(failing())
    # The thread that failed the run claims the notice, then dies before sending it.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(notify_module, "deliver_notice", notify_module._claim)
        emit_event("invoice.paid", {"id": "in_1"})
    failure = RunFailure.objects.get()
    assert failure.notice_status == "sending"
    assert slack.requests == []
    # Not before its lease runs out...
    assert send_due_notices() == 0
    # ...then another worker's duty takes it over and sends it once.
    RunFailure.objects.update(notice_due_at=timezone.now() - timedelta(seconds=1))
    assert send_due_notices() == 1
    assert RunFailure.objects.get().notice_status == "sent"
    assert len(slack.requests) == 1


def test_a_quiet_period_sends_only_the_first_failure(slack):
    billing = failing()
    notify(billing, quiet_minutes=30)
    emit_event("invoice.paid", {"id": "in_1"})
    emit_event("invoice.paid", {"id": "in_2"})
    statuses = sorted(RunFailure.objects.values_list("notice_status", flat=True))
    assert statuses == ["sent", "suppressed"]
    assert len(slack.requests) == 1
    # After the quiet period, the next failure is sent again.
    RunFailure.objects.update(created_at=timezone.now() - timedelta(minutes=31))
    emit_event("invoice.paid", {"id": "in_3"})
    assert len(slack.requests) == 2


def test_without_a_quiet_period_every_failed_run_is_sent(slack):
    notify(failing())
    emit_event("invoice.paid", {"id": "in_1"})
    emit_event("invoice.paid", {"id": "in_2"})
    assert len(slack.requests) == 2


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"slack_token_secret": ""}, "notify_slack_channel"),
        ({"slack_token_secret": "NO_SUCH_SECRET"}, "notify_slack_token_secret"),
        ({"email_to": "ops@example.com, not an address"}, "notify_email_to"),
        ({"quiet_minutes": -1}, "notify_quiet_minutes"),
    ],
)
def test_bad_notification_settings_are_refused(slack, values, field):
    billing = failing()
    with pytest.raises(WorkflowValidationError) as caught:
        notify(billing, **values)
    assert caught.value.problems[0]["field"] == field
    billing.refresh_from_db()
    assert billing.notify_slack_channel == ""


def test_a_notice_never_carries_the_events_secret(slack):
    notify(failing())
    emit_event("invoice.paid", {"id": "in_1", "card": SECRET_LOOKING})
    assert SECRET_LOOKING not in slack.requests[0].body.decode()


# --- review fixes: mentions, a sender slower than its lease, a failure that cannot be noted --


def test_a_mention_in_the_error_pings_no_one(slack):
    billing = failing(message="declined <!channel> <@U123> & more")
    notify(billing)
    emit_event("invoice.paid", {"id": "in_1"})
    [request] = slack.requests
    text = request.json()["text"]
    assert "<!channel>" not in text
    assert "<@U123>" not in text
    assert "&lt;!channel&gt; &lt;@U123&gt; &amp; more" in text


def test_a_sender_slower_than_its_lease_does_not_write_over_the_next_claim(slack, monkeypatch):
    from automate.failures import notify as notices

    billing = failing()
    notify(billing)
    emit_event("invoice.paid", {"id": "in_1"})
    failure = RunFailure.objects.get()
    # Due again (as after a transient error): a first sender claims it and hangs.
    RunFailure.objects.filter(pk=failure.pk).update(
        notice_status="pending", notice_due_at=timezone.now(), notice_channels_sent=[]
    )
    first = notices._claim(failure.pk)
    assert first is not None
    # Its lease runs out; another sender claims it and is sending now.
    RunFailure.objects.filter(pk=failure.pk).update(notice_due_at=timezone.now())
    second = notices._claim(failure.pk)
    assert second is not None
    assert second.notice_attempts == first.notice_attempts + 1

    # The slow first one finishes now, failing: its stale claim must write nothing.
    def refuse(*args, **kwargs):
        from automate.connectors import ConnectorError

        raise ConnectorError("slow and failed", retryable=True)

    monkeypatch.setattr(notices, "_send", refuse)
    monkeypatch.setattr(notices, "_claim", lambda pk: first)
    notices.deliver_notice(failure.pk)
    during = RunFailure.objects.get()
    assert during.notice_status == "sending"
    assert during.notice_error == ""
    # The second sender's outcome is the one kept.
    monkeypatch.setattr(notices, "_send", lambda *a, **k: None)
    monkeypatch.setattr(notices, "_claim", lambda pk: second)
    assert notices.deliver_notice(failure.pk) == "sent"
    assert RunFailure.objects.get().notice_status == "sent"


def test_a_failure_that_cannot_be_recorded_still_fails_the_run(slack, monkeypatch, caplog):
    from automate.failures import hook

    billing = failing()
    notify(billing)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the payload")

    monkeypatch.setattr(hook, "_record_failure", broken)
    emit_event("invoice.paid", {"id": "in_1"})
    run = ExecutionRun.objects.get()
    assert run.status == "failed"
    assert not RunFailure.objects.exists()
    assert "Could not record the failure of run" in caplog.text


def test_a_long_error_is_quoted_cut_with_its_original_size(slack):
    billing = failing(message="declined: " + "x" * 50_000)
    notify(billing)

    emit_event("invoice.paid", {"id": "in_1"})

    [request] = slack.requests
    error_line = next(
        line for line in request.json()["text"].splitlines() if line.startswith("Error: ")
    )
    assert "Step 'charge' failed: declined: xxx" in error_line
    # The step's error was capped at 8,000 bytes; the notice quotes 500 of them and says
    # how long the error really was.
    assert error_line.endswith(" … [truncated: 50,010 bytes, limit 500]")
    assert len(error_line.removeprefix("Error: ").encode()) <= 500
