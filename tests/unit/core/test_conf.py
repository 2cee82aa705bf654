import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from automate import conf


def test_defaults_match_the_design_table():
    tree = conf.defaults()
    assert tree["ENABLED"] is True
    assert tree["WORKER_MODE"] == "thread"
    assert tree["EXECUTION"]["timeout_seconds"] == 60
    assert tree["EXECUTION"]["max_retries"] == 3
    assert tree["EXECUTION"]["batch_size"] == 10
    assert tree["POLICY"] == {
        "allow_ssrf": False,
        "connector_allowlist": ["*"],
        "http_allowlist": [],
        "egress_allowlist": ["*"],
        "tenant_egress_allowlists": {},
        "llm_budget_daily": 10.0,
        "webhook_rate_limit_per_minute": 100,
        "api_basic_auth_per_minute": 30,
    }
    assert tree["SECRETS"] == {"backend": "env", "prefix": "AUTOMATE_", "env_grants": {}}
    assert tree["EVENTS"] == {"keep_raw_body": False, "partitioning": "none", "partitions_ahead": 3}
    assert tree["RETENTION"]["raw_body_days"] == 7
    assert tree["LOGGING_SCHEMA"] == "ecs"
    assert tree["METRICS_EXPORT"] is False


def test_valid_settings_have_no_problems():
    assert conf.validate({"ENABLED": False, "EXECUTION": {"batch_size": 50}}) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"ENABLED": "yes"}, "DJANGO_AUTOMATE['ENABLED'] must be bool, not str"),
        ({"WORKER_MODE": "celery"}, "DJANGO_AUTOMATE['WORKER_MODE'] must be one of"),
        (
            {"EVENTS": {"partitioning": "weekly"}},
            "DJANGO_AUTOMATE['EVENTS']['partitioning'] must be one of",
        ),
        ({"EVENTS": {"partitions_ahead": 0}}, "DJANGO_AUTOMATE['EVENTS']['partitions_ahead']"),
        (
            {"EXECUTION": {"batch_size": 0}},
            "DJANGO_AUTOMATE['EXECUTION']['batch_size'] must be at least 1",
        ),
        ({"EXECUTION": {"batch_size": True}}, "['batch_size'] must be int, not a bool"),
        (
            {"EXECUTION": {"timeout_secs": 5}},
            "DJANGO_AUTOMATE['EXECUTION']['timeout_secs'] is not a known setting",
        ),
        (
            {"POLICY": {"connector_allowlist": "http"}},
            "['connector_allowlist'] must be list, not str",
        ),
        (
            {"POLICY": {"connector_allowlist": [1]}},
            "['connector_allowlist'] must be a list of strings",
        ),
        ({"POLICY": {"llm_budget_daily": -1}}, "['llm_budget_daily'] must be at least 0"),
        ({"EVENTS": {"keep_raw_body": "yes"}}, "['keep_raw_body'] must be bool, not str"),
        ({"RETENTION": {"raw_body_days": 0}}, "['raw_body_days'] must be at least 1"),
        (
            {"RETENTION": {"runs_days": 400}},
            "DJANGO_AUTOMATE['RETENTION']['audit_days'] (365) must be at least runs_days (400)",
        ),
        (
            {
                "RETENTION": {
                    "audit_days": 10,
                    "events_days": 20,
                    "runs_days": 5,
                    "dead_letter_days": 5,
                }
            },
            "['audit_days'] (10) must be at least events_days (20)",
        ),
        (
            {"RETENTION": {"dead_letter_days": 500}},
            "['audit_days'] (365) must be at least dead_letter_days (500)",
        ),
        ({"RETENTION": {"prune_batch_size": 0}}, "['prune_batch_size'] must be at least 1"),
        (
            {"RETENTION": {"prune_interval_seconds": -1}},
            "['prune_interval_seconds'] must be at least 0",
        ),
        (
            {"POLICY": {"egress_allowlist": "*.stripe.com"}},
            "['egress_allowlist'] must be list, not str",
        ),
        (
            {"POLICY": {"egress_allowlist": ["https://api.stripe.com/v1"]}},
            "['egress_allowlist'] has an invalid host pattern: 'https://api.stripe.com/v1' is a URL",
        ),
        (
            {"POLICY": {"egress_allowlist": ["api.stripe.com:99999"]}},
            "invalid port '99999'",
        ),
        ({"POLICY": {"egress_allowlist": [""]}}, "'' has no host"),
        ({"POLICY": {"http_allowlist": ["127.0.0.1:http"]}}, "invalid port 'http'"),
        (
            {"POLICY": {"tenant_egress_allowlists": {"acme": "*.stripe.com"}}},
            "must map tenant slugs to lists of host patterns",
        ),
        (
            {"POLICY": {"tenant_egress_allowlists": {"acme": ["[::1"]}}},
            "['tenant_egress_allowlists'] ['acme'] has an invalid host pattern",
        ),
        ({"POLICY": "strict"}, "DJANGO_AUTOMATE['POLICY'] must be a dict, not str"),
        ({"RETRIES": 3}, "DJANGO_AUTOMATE['RETRIES'] is not a known setting"),
        ({"LOGGING_SCHEMA": "xml"}, "DJANGO_AUTOMATE['LOGGING_SCHEMA'] must be one of"),
    ],
)
def test_each_bad_setting_is_named(value, expected):
    problems = conf.validate(value)
    assert len(problems) == 1
    assert expected in problems[0]


def test_every_problem_is_reported_at_once():
    problems = conf.validate({"ENABLED": 1, "EXECUTION": {"max_retries": -1, "x": 1}})
    assert len(problems) == 3


def test_get_reads_overrides_and_fills_defaults():
    with override_settings(DJANGO_AUTOMATE={"EXECUTION": {"batch_size": 42}}):
        assert conf.get("EXECUTION", "batch_size") == 42
        assert conf.get("EXECUTION", "max_retries") == 3
        assert conf.get("EXECUTION")["batch_size"] == 42
        assert conf.get("ENABLED") is True


# databases=[]: the static checks only. Django 6.1 runs the model checks against every
# database when none is named, and the unit tier has no database.


def test_system_check_fails_start_up_naming_the_key():
    bad = override_settings(DJANGO_AUTOMATE={"EXECUTION": {"batch_size": "ten"}})
    with bad, pytest.raises(SystemCheckError, match=r"\['EXECUTION'\]\['batch_size'\] must be int"):
        call_command("check", databases=[])


def test_system_check_passes_with_project_settings():
    call_command("check", databases=[])
