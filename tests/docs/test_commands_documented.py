"""Every option of every ``automate`` management command is in docs/reference/commands.md."""

import argparse
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs/reference/commands.md"
DJANGO_OWN = {
    "--version", "--verbosity", "--settings", "--pythonpath", "--traceback", "--no-color",
    "--force-color", "--skip-checks", "-h", "--help", "-v",
}  # fmt: skip


def _options(parser: argparse.ArgumentParser, prefix: str = "") -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(f"{prefix}{name}")
                found += _options(sub, f"{prefix}{name} ")
        else:
            found += [f"{prefix}{o}" for o in action.option_strings if o not in DJANGO_OWN]
    return found


COMMANDS = sorted(name for name, app in get_commands().items() if app == "automate")


def test_every_command_has_a_section():
    text = PAGE.read_text()
    assert COMMANDS, "no automate commands found"
    missing = [name for name in COMMANDS if f"## `{name}`" not in text]
    assert not missing, f"{PAGE.name} has no section for {missing}"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_is_documented(name):
    parser = load_command_class("automate", name).create_parser("manage.py", name)
    text = PAGE.read_text()
    section = text.split(f"## `{name}`", 1)[1].split("\n## ", 1)[0]
    missing = [option for option in _options(parser) if f"`{option.split()[-1]}" not in section]
    assert not missing, f"{name}: options missing from {PAGE.name}: {missing}"
