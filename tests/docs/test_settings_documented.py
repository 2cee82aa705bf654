"""Every environment variable the standalone site reads is in docs/reference/settings.md,
and every DJANGO_AUTOMATE key is in its table."""

import re
from pathlib import Path

from automate import conf

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs/reference/settings.md").read_text()


def test_every_environment_variable_of_the_site_is_documented():
    source = (ROOT / "backend/config/settings.py").read_text()
    # Every variable name in the source: read directly (environ.get, _flag, _int, _number)
    # or named in a table such as _TUNING.
    names = set(re.findall(r'"((?:DJANGO|AUTOMATE)_[A-Z0-9_]+|DATABASE_URL|REDIS_URL)"', source))
    assert "DJANGO_SECRET_KEY" in names
    assert "AUTOMATE_VAR_DIR" in names
    missing = sorted(name for name in names if f"`{name}`" not in PAGE)
    assert not missing, f"settings.md does not document {missing}"


def test_every_setting_is_in_the_table():
    missing = []
    for key, spec in conf.SCHEMA.items():
        names = [f"{key}.{sub}" for sub in spec] if isinstance(spec, dict) else [key]
        for name in names:
            last = name.split(".")[-1]
            if f"`{name}`" not in PAGE and not re.search(rf"`{re.escape(last)}`", PAGE):
                missing.append(name)
    assert not missing, f"settings.md does not document {missing}"
