"""Failure notifications: a message to Slack and/or email when a run of a workflow fails.

A notice is written as a ``RunFailure`` row (``notice_status="pending"``) in the same
transaction as the failed run (``automate.failures.hook``): nothing is lost if the process
dies after commit. It is sent right after that commit by the thread that failed the run,
and every worker's periodic duty (``send_due_notices``) picks up any notice still pending
or whose sender died mid-way (a lease of ``LEASE_SECONDS``). A claim is a compare-and-set
on the row, so two workers never send the same notice at once.

Messages go through the connectors' own code paths (``automate.connectors.run_action``):
``slack.post_message`` (the SSRF-safe HTTP client, the bot token resolved from the
workflow tenant's secret at the last moment) and ``email.send`` (the site's email
backend). A channel that failed transiently is tried again (up to ``MAX_ATTEMPTS`` in all,
``RETRY_SECONDS`` apart); a channel that already got the message is not sent it again.
Errors are redacted before they are stored.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from automate.connectors import run_action
from automate.connectors.base import ExecutionContext
from automate.exceptions import AutomateError
from automate.failures.models import RunFailure
from automate.failures.settings import recipients_of
from automate.governance.redaction import redact_text
from automate.governance.secrets import resolve
from automate.payload_caps import cap_text

logger = logging.getLogger("automate.failures")

LEASE_SECONDS = 120
MAX_ATTEMPTS = 3
RETRY_SECONDS = 60
#: Notices one duty turn sends at most (the rest wait for the next turn).
DUTY_BATCH = 5
_TIMEOUT_SECONDS = 15.0
#: A notice quotes at most this many UTF-8 bytes of the run's error, and keeps at most this
#: many of each channel's delivery problem: cut with a visible suffix (automate.payload_caps).
_NOTICE_ERROR_BYTES = 500
_PROBLEM_BYTES = 1000

Notice = RunFailure.Notice


def _link(run_id: Any) -> str:
    """The run's page: absolute when the site sets ``SITE_URL`` (a message is read outside
    the site), else its path."""
    from automate.failures.payload import run_path

    path = run_path(run_id)
    site = str(getattr(settings, "SITE_URL", "") or "").rstrip("/")
    return f"{site}{path}" if path and site else path


def notice_text(failure: RunFailure) -> str:
    """The message: which workflow failed, why, and where to look."""
    run = failure.run
    workflow = failure.workflow
    lines = [
        f"Run failed: {workflow.name} (v{run.workflow_version.version_num})",
        f"Error: {cap_text(redact_text(run.error), limit_bytes=_NOTICE_ERROR_BYTES)}",
    ]
    path = _link(run.pk)
    if path:
        lines.append(f"Run: {path}")
    if failure.error_run_id:
        lines.append(f"Error workflow run: {_link(failure.error_run_id)}")
    return "\n".join(lines)


def _claim(pk: int) -> RunFailure | None:
    now = timezone.now()
    due = Q(notice_due_at__isnull=True) | Q(notice_due_at__lte=now)
    claimed = (
        RunFailure.objects.filter(pk=pk, notice_status__in=[Notice.PENDING, Notice.SENDING])
        .filter(due)
        .update(
            notice_status=Notice.SENDING,
            notice_due_at=now + timedelta(seconds=LEASE_SECONDS),
            notice_attempts=F("notice_attempts") + 1,
        )
    )
    if not claimed:
        return None
    return RunFailure.objects.select_related("run__workflow_version", "workflow__tenant").get(pk=pk)


def _context(failure: RunFailure, channel: str) -> ExecutionContext:
    return ExecutionContext(
        run_id=str(failure.run_id),
        node_id=f"failure-notice-{channel}",
        trace_id=failure.run.trace_id,
        attempt=failure.notice_attempts,
        tenant=failure.workflow.tenant.slug,
        timeout_seconds=_TIMEOUT_SECONDS,
    )


def _send(failure: RunFailure, channel: str, text: str) -> None:
    workflow = failure.workflow
    if channel == "slack":
        token = resolve({"$secret": workflow.notify_slack_token_secret}, tenant=workflow.tenant)
        slack = {"token": token, "channel": workflow.notify_slack_channel, "text": slack_text(text)}
        run_action("slack", "post_message", slack, _context(failure, channel))
    else:
        params: dict[str, Any] = {
            "to": recipients_of(workflow.notify_email_to),
            "subject": f"Run failed: {workflow.name}"[:200],
            "text": text,
        }
        run_action("email", "send", params, _context(failure, channel))


def slack_text(text: str) -> str:
    """``text`` with Slack's control characters escaped (``&``, ``<``, ``>``), so a workflow
    name or an error holding ``<!channel>`` or ``<@U123>`` mentions no one."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def channels_of(failure: RunFailure) -> list[str]:
    """The channels the workflow's settings name now: ``"slack"``, ``"email"``."""
    workflow = failure.workflow
    channels = []
    if workflow.notify_slack_channel and workflow.notify_slack_token_secret:
        channels.append("slack")
    if workflow.notify_email_to:
        channels.append("email")
    return channels


def deliver_notice(pk: int) -> str:
    """Send the notice of ``RunFailure`` ``pk`` if it is due and no one else is sending it.

    Returns its status afterwards (``"sent"``, ``"pending"`` to retry, ``"failed"``), or
    ``""`` when it was not claimed (not due, already sent, being sent elsewhere). Never
    raises for a delivery problem: the problem is stored (redacted) on the row.
    """
    failure = _claim(pk)
    if failure is None:
        return ""
    text = notice_text(failure)
    done = list(failure.notice_channels_sent)
    problems: list[str] = []
    retry = False
    for channel in channels_of(failure):
        if channel in done:
            continue
        try:
            _send(failure, channel, text)
        except AutomateError as exc:
            problems.append(
                cap_text(f"{channel}: {redact_text(exc.message)}", limit_bytes=_PROBLEM_BYTES)
            )
            retry = retry or bool(getattr(exc, "retryable", False))
            continue
        done.append(channel)
    now = timezone.now()
    if not problems:
        status, due = Notice.SENT, None
    elif retry and failure.notice_attempts < MAX_ATTEMPTS:
        status, due = Notice.PENDING, now + timedelta(seconds=RETRY_SECONDS)
    else:
        status, due = Notice.FAILED, None
    # Only under this claim: a sender slower than the lease lost the notice to a later
    # claim (notice_attempts moved on), and must not write over it.
    RunFailure.objects.filter(
        pk=pk, notice_status=Notice.SENDING, notice_attempts=failure.notice_attempts
    ).update(
        notice_status=status,
        notice_due_at=due,
        notice_channels_sent=done,
        notice_error="\n".join(problems),
        notice_sent_at=now if status == Notice.SENT else None,
    )
    if problems:
        logger.warning(
            "Failure notice of run %s: %s",
            failure.run_id,
            "; ".join(problems),
            extra={"run_id": str(failure.run_id), "trace_id": failure.run.trace_id},
        )
    return str(status)


def send_due_notices() -> int:
    """The workers' duty: send up to ``DUTY_BATCH`` notices that are due (pending ones,
    and ones whose sender's lease ran out). Returns how many were claimed."""
    now = timezone.now()
    due = list(
        RunFailure.objects.filter(
            notice_status__in=[Notice.PENDING, Notice.SENDING], notice_due_at__lte=now
        )
        .order_by("notice_due_at")
        .values_list("pk", flat=True)[:DUTY_BATCH]
    )
    return sum(1 for pk in due if deliver_notice(pk))
