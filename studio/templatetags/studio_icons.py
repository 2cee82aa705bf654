"""``{% icon "zap" %}``: a Lucide icon from the studio's sprite, as inline SVG.

Decorative: ``aria-hidden`` and not focusable, so the text label next to it (or the
button's ``aria-label``/``title``) is what assistive technology reads.
``{% icon_sprite %}`` is the sprite's URL, for scripts (``data-icon-sprite`` on <body>).
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from studio.icons import sprite_url

register = template.Library()


@register.simple_tag
def icon(name: str, css_class: str = "") -> SafeString:
    """``<svg class="icon …" aria-hidden="true"><use href="…sprite.svg#name"></use></svg>``."""
    classes = f"icon {css_class}".strip()
    return format_html(
        '<svg class="{}" aria-hidden="true" focusable="false"><use href="{}#{}"></use></svg>',
        classes,
        sprite_url(),
        name,
    )


@register.simple_tag
def icon_sprite() -> str:
    """The sprite's URL."""
    return sprite_url()
