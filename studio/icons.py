"""The studio's icons: Lucide (the ``lucide-static`` npm package), drawn from one SVG sprite.

Icons are SVG, never emoji: a browser without an emoji font draws emoji as empty boxes.
Templates use ``{% icon "name" %}`` (studio_icons), scripts ``icon(name)``
(static/studio/js/icons.js); both reference ``vendor/lucide/sprite.svg#<name>``.
A connector's ``icon`` is a Lucide name; anything else (an emoji, a name the set does not
have) is drawn as the generic connector icon.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from django.contrib.staticfiles import finders
from django.templatetags.static import static

__all__ = [
    "CONNECTOR_ICON",
    "SPRITE",
    "connector_icon",
    "icon_names",
    "node_icon",
    "sprite_url",
]

SPRITE = "vendor/lucide/sprite.svg"
#: A connector whose ``icon`` is not a Lucide name.
CONNECTOR_ICON = "plug"
#: A node of a type the studio does not know.
UNKNOWN_ICON = "shapes"
NODE_TYPE_ICONS = {
    "trigger": "zap",
    "action": "cog",
    "condition": "split",
    "delay": "timer",
    "transform": "square-function",
    "merge": "merge",
}
_SYMBOL = re.compile(r'<symbol id="([a-z0-9-]+)"')


@functools.cache
def icon_names() -> frozenset[str]:
    """The names the sprite holds (empty when the sprite is not installed)."""
    found = finders.find(SPRITE)
    if not found or not isinstance(found, str):
        return frozenset()
    return frozenset(_SYMBOL.findall(Path(found).read_text(encoding="utf-8")))


def sprite_url() -> str:
    """The sprite's URL (with the static storage's hashed name in production)."""
    return static(SPRITE)


def connector_icon(value: Any) -> str:
    """The Lucide name to draw for a connector's ``icon`` attribute (an emoji, or a name
    the set does not have, gets the generic connector icon)."""
    name = str(value or "").strip()
    return name if name in icon_names() else CONNECTOR_ICON


def node_icon(node_type: Any, connector_value: Any = None) -> str:
    """The icon of a workflow node: its connector's for an action, else its type's."""
    if node_type == "action" and connector_value:
        return connector_icon(connector_value)
    return NODE_TYPE_ICONS.get(str(node_type), UNKNOWN_ICON)
