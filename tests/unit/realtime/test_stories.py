"""Every sentence the explorer can say about a step, against the states a step can be in."""

from datetime import datetime

import pytest
from django.test import override_settings

from automate.compat import UTC
from automate.execution.step_alone import not_run_reason
from automate.realtime.stories import Attempt, Cancellation, run_note, step_note

AT = datetime(2026, 11, 30, 21, 30, 2, tzinfo=UTC)
BY_ALICE = Cancellation(by="alice", at=AT)
E429 = "POST https://api.example.com/v1/orders answered HTTP 429 Too Many Requests (rate limited)"


@pytest.fixture(autouse=True)
def utc():
    with override_settings(TIME_ZONE="UTC", USE_TZ=True):
        yield


@pytest.mark.parametrize(
    ("attempts", "kwargs", "expected"),
    [
        ([], {"run_status": "running"}, "Not run yet."),
        ([], {"run_status": "running", "queued": True}, "Queued: waiting to start."),
        ([], {"run_status": "succeeded"}, "Not run: no path of this run led to this step."),
        (
            [],
            {"run_status": "failed", "run_error": "Step 'a' failed: boom"},
            "Not run: the run failed (Step 'a' failed: boom) before this step was reached.",
        ),
        (
            [],
            {"run_status": "cancelled", "cancel": BY_ALICE},
            "Not run: the run was cancelled by alice at 2026-11-30 21:30:02 before this step "
            "was reached.",
        ),
        ([Attempt("running")], {"run_status": "running"}, "Running attempt 1."),
        ([Attempt("succeeded")], {"run_status": "succeeded"}, "Succeeded."),
        (
            [Attempt("failed", "x"), Attempt("succeeded")],
            {"run_status": "succeeded"},
            "Succeeded on attempt 2.",
        ),
        (
            [Attempt("skipped")],
            {"run_status": "succeeded"},
            "Skipped: the branch leading here was not taken.",
        ),
        (
            [Attempt("retrying", "HTTP 503")],
            {"run_status": "running"},
            "Attempt 1 failed: HTTP 503. Another attempt is scheduled.",
        ),
        (
            [Attempt("failed", "a"), Attempt("failed", "b")],
            {"run_status": "failed"},
            "Failed after 2 attempts: b.",
        ),
        (
            [Attempt("failed", "a")],
            {"run_status": "running", "queued": True},
            "Queued to run again after 1 attempt.",
        ),
        # The report of issue 13: ran once (429), then the run failed before the retry.
        (
            [Attempt("cancelled", E429), Attempt("cancelled", not_run_reason("failed"))],
            {"run_status": "failed", "run_error": "Step 'b' failed: boom"},
            f"Stopped after 1 attempt (last error: {E429}): the run failed (Step 'b' failed: "
            "boom) before the next one.",
        ),
        (
            [Attempt("retrying", E429), Attempt("cancelled", not_run_reason("failed"))],
            {"run_status": "failed", "run_error": "Step 'b' failed: boom"},
            f"Stopped after 1 attempt (last error: {E429}): the run failed (Step 'b' failed: "
            "boom) before the next one.",
        ),
        # Cancelled by a user while it waited for its next attempt.
        (
            [Attempt("cancelled", E429)],
            {"run_status": "cancelled", "cancel": BY_ALICE},
            f"Stopped after 1 attempt (last error: {E429}): the run was cancelled by alice at "
            "2026-11-30 21:30:02 before the next one.",
        ),
        # Never attempted: the engine's marker is no attempt.
        (
            [Attempt("cancelled", not_run_reason("cancelled"))],
            {"run_status": "cancelled", "cancel": Cancellation(by="", at=AT)},
            "Not run: the run was cancelled at 2026-11-30 21:30:02 before this step started.",
        ),
    ],
)
def test_step_sentences(attempts, kwargs, expected):
    assert step_note(attempts, **kwargs) == expected


def test_an_error_ending_with_a_full_stop_does_not_end_the_sentence_twice():
    note = step_note(
        [Attempt("failed", "GET /x answered HTTP 404 Not Found.")], run_status="failed"
    )
    assert note == "Failed after 1 attempt: GET /x answered HTTP 404 Not Found."


def test_long_errors_are_cut_and_secrets_masked():
    note = step_note(
        [Attempt("failed", "Authorization: Bearer abc.def.ghi " + "x" * 400)], run_status="failed"
    )
    assert "abc.def.ghi" not in note
    assert len(note) < 200


def test_only_a_cancelled_run_gets_a_run_sentence():
    assert run_note("cancelled", BY_ALICE) == (
        "The run was cancelled by alice at 2026-11-30 21:30:02."
    )
    assert run_note("cancelled", None) == "The run was cancelled."
    assert run_note("failed", None) == ""
