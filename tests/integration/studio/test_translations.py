"""The studio speaks the user's language: every visible text is translatable, German works.

The scanner below reads the template sources: any text a user can see (text nodes and the
title/aria-label/placeholder/alt/hx-confirm attributes) must sit inside {% translate %} or
{% blocktranslate %}, so untranslated text cannot come back unnoticed.
"""

from __future__ import annotations

import gettext as pygettext
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import studio
from django.conf import settings

from automate.exceptions import AutomateError
from tests.factories import make_published, make_user

REPO = Path(settings.BASE_DIR)
STUDIO_APP = Path(studio.__file__).resolve().parent
# The templates live in the studio app (packaged) or, in older checkouts, in the project.
TEMPLATE_DIRS = [STUDIO_APP / "templates" / "studio", REPO / "templates" / "studio"]
STUDIO_LOCALE = STUDIO_APP / "locale"

VISIBLE_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "hx-confirm"}
# Text that is the same in every language: the product name and example values.
NOT_LANGUAGE = {"Django Automate", "· Django Automate", "invoice.paid", "JSON"}
# Contents that are code or data, never prose.
CODE_ELEMENTS = {"code", "pre", "script", "style", "textarea", "kbd"}
WORD = re.compile(r"[^\W\d_]{2,}")

TRANSLATED = re.compile(
    r"\{%\s*(?:translate|trans)\s.*?%\}"
    r"|\{%\s*blocktrans(?:late)?\b.*?%\}.*?\{%\s*endblocktrans(?:late)?\s*%\}",
    re.S,
)
TEMPLATE_SYNTAX = re.compile(r"\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}", re.S)
# Blocks whose content is a CSS class or a nav state, not text.
CLASS_BLOCK = re.compile(r"\{%\s*block\s+(?:\w*class|nav_\w+)\s*%\}.*?\{%\s*endblock\s*%\}", re.S)


def _blank(match: re.Match[str]) -> str:
    # Keep the newlines so the parser's line numbers are the source's.
    return re.sub(r"[^\n]", " ", match.group(0))


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._code_depth = 0

    def _check(self, text: str) -> None:
        text = " ".join(text.split())
        if text and WORD.search(text) and text not in NOT_LANGUAGE:
            self.found.append((self.getpos()[0], text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in CODE_ELEMENTS:
            self._code_depth += 1
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value:
                self._check(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in CODE_ELEMENTS and self._code_depth:
            self._code_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._code_depth:
            self._check(data)


def untranslated_text(source: str) -> list[tuple[int, str]]:
    """The visible texts of a template source that no translate tag covers."""
    for pattern in (TRANSLATED, CLASS_BLOCK, TEMPLATE_SYNTAX):
        source = pattern.sub(_blank, source)
    parser = _VisibleText()
    parser.feed(source)
    parser.close()
    return parser.found


def studio_templates() -> list[Path]:
    return sorted(p for d in TEMPLATE_DIRS if d.is_dir() for p in d.rglob("*.html"))


def test_the_scanner_finds_text_outside_translate_tags():
    source = (
        '{% load i18n %}<h1 title="Hello there">{% translate "Runs" %}</h1>\n'
        "<p>{{ count }} runs {% if x %}left{% endif %}</p><code>invoice.paid</code>\n"
        '{% blocktranslate %}<b>{{ n }}</b> done{% endblocktranslate %}<input placeholder="{{ x }}">'
    )
    assert untranslated_text(source) == [(1, "Hello there"), (2, "runs left")]


def test_every_visible_text_of_the_studio_templates_is_translatable():
    templates = studio_templates()
    assert len(templates) > 20, "the studio templates were not found"
    problems = [
        f"{path.relative_to(REPO)}:{line}: {text!r}"
        for path in templates
        for line, text in untranslated_text(path.read_text())
    ]
    assert problems == [], "wrap these in {% translate %}:\n" + "\n".join(problems)
