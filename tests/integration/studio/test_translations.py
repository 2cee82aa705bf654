"""The studio speaks the user's language: every visible text is translatable, German works.

The scanner below reads the template sources: any text a user can see (text nodes and the
title/aria-label/placeholder/alt/hx-confirm attributes) must sit inside {% translate %} or
{% blocktranslate %}, so untranslated text cannot come back unnoticed.
"""

from __future__ import annotations

import gettext as pygettext
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import django
import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import translation

import automate
import studio
from automate.execution.exceptions import RunStateError
from automate.execution.models import ExecutionRun
from automate.execution.services import cancel_run
from automate.runtime import emit_event
from automate.workflows.models import Workflow
from tests.factories import make_published, make_tenant, make_user, make_workflow

REPO = Path(settings.BASE_DIR)
STUDIO_APP = Path(studio.__file__).resolve().parent
# The templates live in the studio app (packaged) or, in older checkouts, in the project.
TEMPLATE_DIRS = [STUDIO_APP / "templates" / "studio", REPO / "templates" / "studio"]
STUDIO_LOCALE = STUDIO_APP / "locale"
ENGINE_LOCALE = Path(automate.__file__).resolve().parent / "locale"

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


# --- German, end to end ---------------------------------------------------------------------


@pytest.fixture
def studio_user(client):
    tenant = make_tenant("acme")
    user = make_user("greta", staff=True, perms=["automate.use_studio", "automate.change_workflow"])
    tenant.members.add(user)
    client.force_login(user)
    client.tenant = tenant
    return client


@pytest.mark.django_db
def test_the_dashboard_speaks_german_to_a_german_browser(studio_user):
    make_published(slug="paid", name="Paid invoices", tenant=studio_user.tenant)
    german = studio_user.get("/studio/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    for text in ("Ausführungen", "Letzte Ausführungen", "Abmelden", "veröffentlicht v1"):
        assert text in german
    assert '<html lang="de">' in german
    english = studio_user.get("/studio/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Recent runs" in english
    assert "Letzte Ausführungen" not in english
    assert '<html lang="en">' in english


@pytest.mark.django_db
def test_the_editor_publish_button_is_german(studio_user):
    workflow = make_workflow(slug="flow", tenant=studio_user.tenant)
    page = studio_user.get(f"/studio/workflows/{workflow.pk}/", HTTP_ACCEPT_LANGUAGE="de")
    assert ">Veröffentlichen</button>" in page.content.decode()


@pytest.mark.django_db
def test_an_error_keeps_its_code_in_german(studio_user):
    workflow = make_workflow(slug="flow", tenant=studio_user.tenant)
    url = f"/studio/workflows/{workflow.pk}/draft.json"
    graph = {"nodes": [{"id": "trigger", "type": "trigger"}], "edges": []}
    body = json.dumps({"revision": 0, "graph": graph})
    assert studio_user.put(url, body, content_type="application/json").status_code == 200
    stale = studio_user.put(url, body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="de")
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_draft"
    assert stale.json()["message"].startswith("Jemand anderes hat diesen Workflow geändert")


@pytest.mark.django_db(transaction=True)  # the run starts when the event commits
def test_an_engine_error_keeps_its_code_in_german():
    make_published(slug="paid")
    emit_event("invoice.paid", {"amount": 5000}, source="stripe")
    run = ExecutionRun.objects.get()
    with translation.override("de"), pytest.raises(RunStateError) as refused:
        cancel_run(run=run)
    assert refused.value.code == "invalid_run_state"
    assert refused.value.message == f"Die Ausführung ist bereits {run.status}."


@pytest.mark.django_db
def test_the_admin_names_the_engine_models_in_german(client):
    client.force_login(make_user("root", staff=True, superuser=True))
    page = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    for name in ("Ausführungen", "Webhook-Endpunkte", "Mandanten", "Workflow-Versionen"):
        assert name in page


# --- the catalogs ---------------------------------------------------------------------------


def _po_entries(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a .po file (singular entries, the header left out)."""
    entries: dict[str, str] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        if block.lstrip().startswith("#~"):
            continue
        fields: dict[str, str] = {}
        current = ""
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            head, _, rest = line.partition(" ")
            if head in ("msgid", "msgstr", "msgid_plural", "msgctxt"):
                current, line = head, rest
            if current and line.startswith('"'):
                fields[current] = fields.get(current, "") + _unquote(line)
        if fields.get("msgid") and "msgid_plural" not in fields:
            # A context entry is keyed as gettext looks it up: "context\x04msgid".
            key = (
                f"{fields['msgctxt']}\x04{fields['msgid']}"
                if "msgctxt" in fields
                else fields["msgid"]
            )
            entries[key] = fields.get("msgstr", "")
    return entries


def _unquote(line: str) -> str:
    escapes = {"n": "\n", "t": "\t"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), line[1:-1])


@pytest.mark.parametrize(
    ("locale", "domain"),
    [(STUDIO_LOCALE, "django"), (STUDIO_LOCALE, "djangojs"), (ENGINE_LOCALE, "django")],
)
def test_the_compiled_german_catalog_matches_its_source(locale, domain):
    po = locale / "de" / "LC_MESSAGES" / f"{domain}.po"
    with (po.with_suffix(".mo")).open("rb") as handle:
        compiled = pygettext.GNUTranslations(handle)
    translated = {k: v for k, v in _po_entries(po).items() if v}
    assert len(translated) >= 5
    stale = {k: v for k, v in translated.items() if compiled.gettext(k) != v}
    assert stale == {}, "run scripts/messages: the .mo is older than the .po"


@pytest.mark.django_db
def test_the_studio_scripts_get_their_german_strings(studio_user):
    catalog = studio_user.get("/studio/jsi18n/", HTTP_ACCEPT_LANGUAGE="de")
    assert catalog.status_code == 200
    text = catalog.content.decode()
    # The catalog is JavaScript with JSON-escaped strings ("…" is \u2026).
    assert '"Saving\\u2026": "Speichert\\u2026"' in text
    page = studio_user.get("/studio/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<script src="/studio/jsi18n/" defer></script>' in page


def test_every_translate_tag_of_the_templates_is_in_the_catalog():
    # The catalog is refreshed (scripts/messages) whenever a template gains a string.
    known = set(_po_entries(STUDIO_LOCALE / "de" / "LC_MESSAGES" / "django.po"))
    literal = re.compile(
        r"""\{%\s*translate\s+(?:"([^"]*)"|'([^']*)')(?:\s+context\s+"([^"]*)")?"""
    )
    missing = sorted(
        f"{path.name}: {a or b!r}"
        for path in studio_templates()
        for a, b, context in literal.findall(path.read_text())
        if (f"{context}\x04{a or b}" if context else a or b) not in known
    )
    assert missing == []


@pytest.mark.django_db
def test_the_studio_wording_wins_over_the_admin_catalog_in_any_app_order(studio_user):
    # Django merges the catalogs of INSTALLED_APPS and the first app wins a shared msgid:
    # with the admin listed first, "History" would be its "Geschichte". A host project
    # controls that order, so the studio's shared words carry a context of their own.
    apps = list(settings.INSTALLED_APPS)
    apps.remove("django.contrib.admin")
    workflow = make_workflow(slug="flow", tenant=studio_user.tenant)
    with override_settings(INSTALLED_APPS=["django.contrib.admin", *apps]):
        page = studio_user.get(f"/studio/workflows/{workflow.pk}/", HTTP_ACCEPT_LANGUAGE="de")
        runs = studio_user.get("/studio/runs/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    text = page.content.decode()
    assert 'data-panel="history">Verlauf</button>' in text
    assert "Geschichte" not in text
    assert "<kbd>Entf</kbd>" in text
    assert ">Filtern</button>" in runs


@pytest.mark.django_db
def test_a_new_workflow_names_its_trigger_in_the_creators_language(studio_user):
    studio_user.post("/studio/wizard/", {"name": "Neu"}, HTTP_ACCEPT_LANGUAGE="de")
    german = Workflow.objects.get(name="Neu").draft_graph["nodes"][0]
    assert german["label"] == "Wenn ein Ereignis eintrifft"
    studio_user.post("/studio/wizard/", {"name": "New"}, HTTP_ACCEPT_LANGUAGE="en")
    english = Workflow.objects.get(name="New").draft_graph["nodes"][0]
    assert english["label"] == "When an event arrives"


def test_no_studio_string_shares_a_msgid_with_a_different_django_translation():
    # Whichever catalog merges last would win such a msgid; a context keeps the studio's own.
    django_dir = Path(django.__file__).resolve().parent
    theirs: dict[str, set[str]] = {}
    for mo in [
        *django_dir.glob("contrib/*/locale/de/LC_MESSAGES/django.mo"),
        django_dir / "conf/locale/de/LC_MESSAGES/django.mo",
    ]:
        with mo.open("rb") as handle:
            catalog = pygettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
        for key, value in catalog.items():
            if isinstance(key, str):  # plural entries are keyed (msgid, n)
                theirs.setdefault(key, set()).add(value)
    with (STUDIO_LOCALE / "de" / "LC_MESSAGES" / "django.mo").open("rb") as handle:
        ours = pygettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    clashes = {
        key: (value, theirs[key])
        for key, value in ours.items()
        if isinstance(key, str) and key and theirs.get(key, {value}) != {value}
    }
    assert clashes == {}, 'give these studio strings a context (pgettext / context "studio")'
