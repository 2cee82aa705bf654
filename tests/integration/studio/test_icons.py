"""The studio draws Lucide SVG icons from one sprite, never emoji (a browser without an
emoji font shows emoji as empty boxes); a connector's unknown icon gets a generic one."""

import re
from pathlib import Path

import pytest
from django.template import Context, Template

from automate.connectors import all_connectors
from studio.icons import CONNECTOR_ICON, NODE_TYPE_ICONS, connector_icon, icon_names
from studio.views.editor import CONTROL_NODES, TRIGGER_NODES, _action_entries

ROOT = Path(__file__).resolve().parents[3]
#: Pictographs a browser needs an emoji or symbol font for (arrows in sentences are text).
PICTOGRAPHS = re.compile(
    "[\u2300-\u23ff\u25a0-\u25ff\u2600-\u27bf\u2900-\u297f\u2b00-\u2bff\U0001f000-\U0001faff\ufe0f]"
)
UI_SOURCES = [
    ROOT / "studio" / "templates",
    ROOT / "studio" / "static",
    ROOT / "studio" / "views",
    ROOT / "backend" / "automate" / "connectors",
]


def test_no_studio_template_script_or_connector_uses_an_emoji():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}"
        for folder in UI_SOURCES
        for path in folder.rglob("*")
        if path.suffix in {".html", ".js", ".py", ".css"}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PICTOGRAPHS.search(line)
    ]
    assert found == []


def test_the_sprite_is_served_and_holds_every_icon_the_studio_names():
    names = icon_names()
    assert len(names) > 1000  # the whole Lucide set
    used = {CONNECTOR_ICON, *NODE_TYPE_ICONS.values()}
    used |= {entry["icon"] for entry in CONTROL_NODES + TRIGGER_NODES}
    used |= {
        adapter.icon
        for adapter in all_connectors()
        if type(adapter).__module__.startswith("automate.connectors.builtins")
    }
    assert used - names == set()


@pytest.mark.parametrize("value", ["🏭", "✉️", "no-such-icon", "", None, "<script>"])
def test_an_emoji_or_unknown_connector_icon_is_drawn_as_the_generic_one(value):
    assert connector_icon(value) == CONNECTOR_ICON == "plug"


def test_the_palette_catalogue_names_icons_from_the_set(monkeypatch):
    from automate.connectors.builtins.log import LogConnector

    monkeypatch.setattr(LogConnector, "icon", "🪵")  # as a third-party connector might
    groups = {group["code"]: group for group in _action_entries()}
    assert groups["log"]["icon"] == "plug"
    assert {action["icon"] for action in groups["log"]["actions"]} == {"plug"}
    assert groups["http"]["icon"] == "globe"
    assert all(group["icon"] in icon_names() for group in groups.values())


def test_the_icon_tag_is_decorative_inline_svg_from_the_sprite():
    html = Template('{% load studio_icons %}{% icon "zap" "brand" %}').render(Context())
    assert html == (
        '<svg class="icon brand" aria-hidden="true" focusable="false">'
        '<use href="/static/vendor/lucide/sprite.svg#zap"></use></svg>'
    )
