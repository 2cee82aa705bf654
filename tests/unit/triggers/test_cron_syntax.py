"""Only the documented five-field cron form (and the listed macros) is accepted."""

import pytest

from automate.triggers.cron import schedule_problems
from automate.triggers.cron_syntax import cron_problem, is_fixed_time
from automate.workflows.specs import trigger_problems

SIX = (
    "cron expressions have 5 fields (minute hour day-of-month month day-of-week); "
    "this one has 6 — seconds are not supported"
)


@pytest.mark.parametrize(
    "cron",
    [
        "*/5 * * * *",
        "0 9 * * 1-5",
        "30 2 * * *",
        "0 0 1 1 *",
        "0,15,30,45 * * * *",
        "0 9-17/2 * * MON-FRI",
        "0 0 * JAN,JUL sun",
        "0 0 * * 7",
        "0 0 * * MON-SUN",
        "0 0 * * 5-0",
        "  0   9 * * 1  ",
        "59 23 31 12 6",
        "0-59/10 0-23 1-31 1-12 0-7",
        "@hourly",
        "@daily",
        "@midnight",
        "@weekly",
        "@monthly",
        "@yearly",
        "@annually",
        "@DAILY",
    ],
)
def test_the_documented_form_is_accepted(cron):
    assert cron_problem(cron) is None
    assert schedule_problems({"cron": cron}) == []


@pytest.mark.parametrize(
    ("cron", "says"),
    [
        # The seen cases: seconds first (Quartz), and every ten seconds.
        ("0 0 9 * * 1", SIX),
        ("*/10 * * * * *", SIX),
        ("0 30 9 * * ?", SIX),
        ("0 0 9 * * 1 2026", "this one has 7 — seconds and years are not supported"),
        ("0 0 12 ? * MON-FRI *", "this one has 7"),
        ("* * * *", "this one has 4"),
        ("0 9", "this one has 2"),
        ("* * * * * * * *", "this one has 8"),
        ("", "is empty"),
        ("   ", "is empty"),
        # Quartz and Jenkins tokens inside five fields.
        ("0 0 ? * *", "'?' (Quartz's \"no specific value\") is not supported"),
        ("0 0 * * ?", "'?'"),
        ("0 0 L * *", "'L' (Quartz's \"last\") is not supported"),
        ("0 0 L-3 * *", "'L'"),
        ("0 0 * * 5L", "'L'"),
        ("0 0 LW * *", "'L'"),
        ("0 0 15W * *", "'W' (Quartz's \"nearest weekday\") is not supported"),
        ("0 0 * * 1#2", "'#' (Quartz's \"Nth weekday of the month\") is not supported"),
        ("H * * * *", "'H' (Jenkins's hashed value) is not supported"),
        ("H(0-29) * * * *", "is not"),
        # Bad ranges, steps and values.
        ("60 * * * *", "minute field '60': '60' is out of range (0-59)"),
        ("0 24 * * *", "hour field '24': '24' is out of range (0-23)"),
        ("0 0 0 * *", "day-of-month field '0': '0' is out of range (1-31)"),
        ("0 0 32 * *", "out of range (1-31)"),
        ("0 0 * 13 *", "month field '13': '13' is out of range (1-12)"),
        ("0 0 * 0 *", "out of range (1-12)"),
        ("0 0 * * 8", "day-of-week field '8': '8' is out of range (0-7)"),
        ("5-1 * * * *", "the range '5-1' goes backwards"),
        ("0 0 * * FRI-MON", "goes backwards"),
        ("*/0 * * * *", "the step in '*/0' must be a whole number from 1 to 60"),
        ("*/x * * * *", "the step in '*/x'"),
        ("*/-1 * * * *", "the step"),
        ("5/10 * * * *", "a step needs '*' or a range before it (write 5-59/10 or */10)"),
        ("*-5 * * * *", "is not '*', N, N-M, */S or N-M/S"),
        ("1-2-3 * * * *", "is not '*', N, N-M, */S or N-M/S"),
        ("1,,2 * * * *", "has an empty item"),
        ("1, * * * *", "has an empty item"),
        ("a b c d e", "minute field 'a': 'a' is not a number"),
        ("0 0 * FOO *", "'FOO' is not a number or a name such as FEB"),
        ("0 0 * * JUL", "'JUL' is not a number or a name such as MON"),
        ("0 0 * MON *", "is not a number or a name"),
        ("-1 * * * *", "is not '*'"),
        ("@reboot", "'@reboot' is not a known macro"),
        ("@every 5m", "is not a known macro"),
        ("every minute", "this one has 2"),
    ],
)
def test_everything_else_is_refused_saying_why(cron, says):
    problem = cron_problem(cron)
    assert problem is not None
    assert says in problem
    problems = trigger_problems({"event_type": "report.daily", "schedule": {"cron": cron}})
    assert problems == [{"field": "trigger_spec.schedule.cron", "message": problem}]


def test_the_exact_message_for_seconds():
    assert cron_problem("0 0 9 * * 1") == SIX


@pytest.mark.parametrize("cron", [None, 5, ["*", "*", "*", "*", "*"], {"m": "*"}])
def test_a_cron_that_is_not_text_is_refused(cron):
    assert "must be a string" in cron_problem(cron)
    assert schedule_problems({"cron": cron})[0]["field"] == "trigger_spec.schedule.cron"


def test_a_well_formed_cron_that_never_fires_is_refused():
    assert schedule_problems({"cron": "0 0 30 2 *"}) == [
        {
            "field": "trigger_spec.schedule.cron",
            "message": "'0 0 30 2 *' never fires (no such date)",
        }
    ]


@pytest.mark.parametrize(
    ("cron", "fixed"),
    [
        ("30 2 * * *", True),
        ("0 9-17 * * 1-5", True),
        ("0,30 2 * * *", True),
        ("@daily", True),
        ("@weekly", True),
        ("*/15 * * * *", False),
        ("0 * * * *", False),
        ("30 */2 * * *", False),
        ("*/15 2 * * *", False),
        ("@hourly", False),
    ],
)
def test_fixed_time_and_wildcard_schedules_are_told_apart_as_classic_cron_does(cron, fixed):
    assert is_fixed_time(cron) is fixed
