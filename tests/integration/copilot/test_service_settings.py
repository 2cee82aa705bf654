"""``DJANGO_AUTOMATE["COPILOT"]`` is validated by ``manage.py check``; the site reads it
from the environment."""

import subprocess
import sys
from pathlib import Path

from django.core import checks
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[3]


def messages(**automate):
    with override_settings(DJANGO_AUTOMATE=automate):
        return {(m.id, m.msg) for m in checks.run_checks() if (m.id or "").startswith("automate.")}


def ids(found):
    return sorted(i for i, _ in found)


def test_the_offline_default_passes():
    assert not [i for i in ids(messages()) if i.startswith(("automate.E06", "automate.W06"))]


def test_a_documented_model_configuration_passes():
    found = messages(
        POLICY={"http_allowlist": ["127.0.0.1"]},
        COPILOT={
            "base_url": "http://127.0.0.1:11434/v1",
            "model": "llama3.1",
            "api_key_secret": "",
            "timeout_seconds": 120,
            "max_tokens": 4096,
            "rate_limit_per_minute": 5,
            "repair_rounds": 1,
            "structured_output": "auto",
        },
    )
    assert not [i for i in ids(found) if i.startswith(("automate.E0", "automate.W06"))]


def test_a_url_that_is_not_http_is_an_error():
    found = messages(COPILOT={"base_url": "ftp://models.example", "model": "m"})
    assert ("automate.E060") in ids(found)
    assert any("['COPILOT']['base_url'] must be an http(s) URL" in m for _, m in found)


def test_a_base_url_without_a_model_is_an_error():
    found = messages(COPILOT={"base_url": "https://api.openai.com/v1"})
    assert "automate.E061" in ids(found)


def test_a_key_instead_of_a_secret_name_is_an_error():
    found = messages(COPILOT={"api_key_secret": "sk-abc-def"})
    assert "automate.E062" in ids(found)
    text = " ".join(m for _, m in found)
    assert "sk-abc-def" not in text  # never repeated: it may be the key itself


def test_a_base_url_off_the_egress_allowlist_is_a_warning():
    found = messages(
        POLICY={"egress_allowlist": ["hooks.slack.com"]},
        COPILOT={"base_url": "https://api.openai.com/v1", "model": "gpt-4o-mini"},
    )
    assert "automate.W060" in ids(found)
    assert any("api.openai.com" in m for i, m in found if i == "automate.W060")


def test_wrong_types_and_ranges_are_schema_errors():
    found = messages(
        COPILOT={
            "repair_rounds": 5,
            "max_tokens": "lots",
            "structured_output": "xml",
            "rate_limit_per_minute": 0,
            "temperature": 1,
        }
    )
    text = "\n".join(m for i, m in found if i == "automate.E001")
    assert "['COPILOT']['repair_rounds'] must be from 0 to 2" in text
    assert "['COPILOT']['max_tokens'] must be int" in text
    assert "['COPILOT']['structured_output'] must be one of" in text
    assert "['COPILOT']['rate_limit_per_minute'] must be at least 1" in text
    assert "['COPILOT']['temperature'] is not a known setting" in text


def test_the_site_reads_the_copilot_from_the_environment():
    code = (
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.DJANGO_AUTOMATE.get('COPILOT')))"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{ROOT / 'backend'}:{ROOT}",
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "AUTOMATE_COPILOT_BASE_URL": "http://127.0.0.1:8080/v1",
        "AUTOMATE_COPILOT_MODEL": "qwen2.5-coder",
        "AUTOMATE_COPILOT_API_KEY_SECRET": "LOCAL_LLM_KEY",
    }
    done = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == (
        '{"base_url": "http://127.0.0.1:8080/v1", "model": "qwen2.5-coder", '
        '"api_key_secret": "LOCAL_LLM_KEY"}'
    )
