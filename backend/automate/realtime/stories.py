"""What the explorer says about a step and a run, from what really happened to it.

A step's badge says its last status; the sentence next to it says how it got there: the
attempts made, the last error, and why it stopped (the run failed, or who cancelled it
and when). The engine marks a step job it did not run (its run had stopped meanwhile)
with a CANCELLED attempt whose error is ``step_alone.not_run_reason``: such a marker is
not an attempt, so a step that ran once and was then stopped does not read "Not run".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext, ngettext

from automate.execution.models import ExecutionRun, StepRun
from automate.execution.step_alone import not_run_reason
from automate.governance.redaction import redact_text

RunStatus = ExecutionRun.Status
StepStatus = StepRun.Status

#: Errors quoted in a sentence are cut to this many characters (the panel shows them whole).
QUOTED_ERROR_CHARS = 160
NOT_RUN_MARKERS = frozenset(not_run_reason(status) for status in RunStatus.values)


@dataclass(frozen=True)
class Attempt:
    """One StepRun of a node, as much as a sentence needs."""

    status: str
    error: str = ""

    @property
    def made(self) -> bool:
        """False for the engine's "not run" marker: nothing was attempted."""
        return not (self.status == StepStatus.CANCELLED and self.error in NOT_RUN_MARKERS)


@dataclass(frozen=True)
class Cancellation:
    """Who cancelled a run and when (from its ``run.cancel`` audit entry)."""

    by: str
    at: datetime | None


def shown_time(value: datetime | None) -> str:
    """``2026-11-30 21:30:02`` in the current time zone (empty for None)."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _quoted(error: str) -> str:
    # The sentence ends with its own full stop.
    text = redact_text(" ".join(error.split())).rstrip(".")
    return text if len(text) <= QUOTED_ERROR_CHARS else text[: QUOTED_ERROR_CHARS - 1] + "…"


def cancelled_clause(cancel: Cancellation | None) -> str:
    """``the run was cancelled by alice at 2026-11-30 21:30:02`` (parts known only)."""
    if cancel is None:
        return gettext("the run was cancelled")
    if cancel.by and cancel.at:
        return gettext("the run was cancelled by %(who)s at %(when)s") % {
            "who": cancel.by,
            "when": shown_time(cancel.at),
        }
    if cancel.at:
        return gettext("the run was cancelled at %(when)s") % {"when": shown_time(cancel.at)}
    return gettext("the run was cancelled by %(who)s") % {"who": cancel.by}


def _why_stopped(run_status: str, run_error: str, cancel: Cancellation | None) -> str:
    if run_status == RunStatus.CANCELLED:
        return cancelled_clause(cancel)
    if run_error:
        return gettext("the run failed (%(error)s)") % {"error": _quoted(run_error)}
    return gettext("the run had stopped (%(status)s)") % {"status": run_status}


def _attempts(count: int) -> str:
    return ngettext("%(n)d attempt", "%(n)d attempts", count) % {"n": count}


def run_note(run_status: str, cancel: Cancellation | None) -> str:
    """The sentence under a run's status (only a cancelled run needs one: a failed run
    shows its error)."""
    if run_status != RunStatus.CANCELLED:
        return ""
    clause = cancelled_clause(cancel)
    return clause[:1].upper() + clause[1:] + "."


def step_note(
    attempts: Sequence[Attempt],
    *,
    run_status: str,
    run_error: str = "",
    queued: bool = False,
    cancel: Cancellation | None = None,
) -> str:
    """The sentence the explorer shows for one node of a run.

    ``attempts`` are the node's current StepRuns, oldest first; ``queued`` says a job for
    the node is waiting or running (a retried step before the worker picks it up).
    """
    made = [a for a in attempts if a.made]
    errors = [a.error for a in made if a.error]
    last_error = _quoted(errors[-1]) if errors else ""
    if queued:
        if not made:
            return gettext("Queued: waiting to start.")
        return gettext("Queued to run again after %(attempts)s.") % {
            "attempts": _attempts(len(made))
        }
    if not attempts:
        if run_status in (RunStatus.PENDING, RunStatus.RUNNING):
            return gettext("Not run yet.")
        if run_status == RunStatus.SUCCEEDED:
            return gettext("Not run: no path of this run led to this step.")
        return gettext("Not run: %(why)s before this step was reached.") % {
            "why": _why_stopped(run_status, run_error, cancel)
        }
    latest = attempts[-1]
    status = latest.status
    if status == StepStatus.RUNNING:
        return gettext("Running attempt %(n)d.") % {"n": len(made)}
    if status == StepStatus.SUCCEEDED:
        if len(made) > 1:
            return gettext("Succeeded on attempt %(n)d.") % {"n": len(made)}
        return gettext("Succeeded.")
    if status == StepStatus.SKIPPED:
        return gettext("Skipped: the branch leading here was not taken.")
    if status == StepStatus.RETRYING:
        return gettext("Attempt %(n)d failed: %(error)s. Another attempt is scheduled.") % {
            "n": len(made),
            "error": last_error or gettext("no message"),
        }
    if status == StepStatus.FAILED:
        return gettext("Failed after %(attempts)s: %(error)s.") % {
            "attempts": _attempts(len(made)),
            "error": last_error or gettext("no message"),
        }
    if status == StepStatus.PENDING:
        return gettext("Waiting to start.")
    # CANCELLED: either the engine's marker (a job it did not run) or a step stopped by a
    # cancel while it waited for its next attempt.
    why = _why_stopped(run_status, run_error, cancel)
    if not made:
        return gettext("Not run: %(why)s before this step started.") % {"why": why}
    if last_error:
        return gettext(
            "Stopped after %(attempts)s (last error: %(error)s): %(why)s before the next one."
        ) % {"attempts": _attempts(len(made)), "error": last_error, "why": why}
    return gettext("Stopped after %(attempts)s: %(why)s.") % {
        "attempts": _attempts(len(made)),
        "why": why,
    }
