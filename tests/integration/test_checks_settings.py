"""``manage.py check`` validates CONNECTOR_OPTIONS and MODEL_EVENTS (the settings reference
says every key is validated there); a bad MODEL_EVENTS entry is a check message, not a
traceback at start-up."""

import subprocess
import sys
from pathlib import Path

from django.core import checks
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]


def automate_messages(**automate):
    with override_settings(DJANGO_AUTOMATE=automate):
        return {(m.id, m.msg) for m in checks.run_checks() if (m.id or "").startswith("automate.")}


def test_connector_options_are_checked():
    messages = automate_messages(
        CONNECTOR_OPTIONS={
            "slak": {"base_url": "https://slack.example"},
            "slack": {"baseurl": "https://slack.example"},
            "llm": {
                "base_url": "ftp://models",
                "prices": {"m": {"input_per_1k": -1, "output_per_1k": 0}},
            },
            "log": "verbose",
        }
    )
    ids = sorted(i for i, _ in messages)
    text = "\n".join(m for _, m in messages)
    assert ids.count("automate.E031") == 4
    assert "automate.W031" in ids
    assert "['slak'] names no registered connector" in text
    assert "['slack'] has unknown keys ['baseurl']" in text
    assert "['llm']['base_url'] must be an http(s) URL" in text
    assert "['prices']['m']['input_per_1k'] must be a number ≥ 0" in text
    assert "['log'] must be a dict of options" in text


def test_the_documented_connector_options_pass():
    options = {
        "slack": {"base_url": "https://slack.com/api"},
        "llm": {
            "base_url": "https://api.openai.com/v1",
            "prices": {"house-model": {"input_per_1k": 0.001, "output_per_1k": 0.002}},
            "default_price": {"input_per_1k": 0.01, "output_per_1k": 0.03},
        },
    }
    assert not {i for i, _ in automate_messages(CONNECTOR_OPTIONS=options)} & {
        "automate.E031",
        "automate.W031",
    }


def test_bad_model_events_entries_are_check_errors_with_a_hint():
    with override_settings(
        DJANGO_AUTOMATE={
            "MODEL_EVENTS": [
                "shop.Order",
                {"model": "auth.User", "events": ["saved"]},
                {"model": "auth.Group", "exlude": ["name"]},
                "auth.Permission",
            ]
        }
    ):
        errors = [m for m in checks.run_checks() if m.id == "automate.E040"]
    assert [e.msg.split("] ", 1)[1] for e in errors] == [
        "names 'shop.Order', which is not an installed model ('app_label.Model').",
        "(auth.User) 'events' must be a non-empty list of ['created', 'updated', 'deleted'].",
        "(auth.Group) has unknown keys ['exlude']: use model, events, exclude.",
    ]
    assert all("docs/howto/schedules.md#model-events" in e.hint for e in errors)


def test_start_up_with_a_bad_model_events_entry_reports_instead_of_crashing(tmp_path):
    (tmp_path / "bad_model_events.py").write_text(
        "from config.settings_test import *  # noqa\n"
        "DJANGO_AUTOMATE = {**DJANGO_AUTOMATE, 'MODEL_EVENTS': ['shop.Order', 'auth.Group']}\n"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": f"{tmp_path}:{ROOT / 'backend'}:{ROOT}",
            "DJANGO_SETTINGS_MODULE": "bad_model_events",
        },
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "Traceback" not in output
    assert "(automate.E040) DJANGO_AUTOMATE['MODEL_EVENTS'][0] names 'shop.Order'" in output
