"""The studio's colours, light and dark: the tokens of css/studio.css are read as the browser
reads them (the :root block, then its prefers-color-scheme: dark override), and each pair a
user reads (text on its background, a badge's text on the badge) meets WCAG AA in both
themes; no studio style sheet paints a colour of its own outside the tokens."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
STATIC = ROOT / "studio" / "static" / "studio"
STUDIO_CSS = STATIC / "css" / "studio.css"
#: Every style sheet of the studio (the tokens live in studio.css).
STYLE_SHEETS = sorted([*STATIC.glob("css/*.css"), *STATIC.glob("*/*.css")])
DARK_QUERY = "@media (prefers-color-scheme: dark)"

#: Text on its background: WCAG AA for body text (4.5:1).
TEXT_PAIRS = [
    *[
        ("--sticky-text", f"--note-{colour}")
        for colour in ("yellow", "blue", "green", "pink", "purple", "gray")
    ],
    ("--text", "--bg"),
    ("--text", "--panel"),
    ("--text", "--subtle"),
    ("--text", "--hover"),
    ("--text", "--input-bg"),
    ("--text", "--node-bg"),
    ("--muted", "--bg"),
    ("--muted", "--panel"),
    ("--muted", "--subtle"),
    ("--muted", "--node-bg"),
    ("--muted", "--canvas-bg"),
    ("--accent", "--bg"),
    ("--accent", "--panel"),
    ("--accent", "--subtle"),
    ("--accent", "--accent-soft"),
    ("--accent-text", "--accent-soft"),
    ("--on-accent", "--accent-strong"),
    ("--on-accent", "--accent-strong-hover"),
    ("--accent-strong", "--on-accent"),
    ("--danger", "--panel"),
    ("--danger", "--bg"),
    ("--ok-text", "--ok-bg"),
    ("--ok-text", "--ok-badge"),
    ("--ok-text", "--panel"),
    ("--err-text", "--err-bg"),
    ("--err-text", "--err-badge"),
    ("--err-text", "--panel"),
    ("--panel", "--err-text"),
    ("--warn-text", "--warn-bg"),
    ("--warn-text", "--warn-badge"),
    ("--warn-text", "--panel"),
    ("--neutral-text", "--neutral-badge"),
    ("--off-text", "--off-badge"),
    ("--off-text", "--neutral-badge"),
    ("--violet-text", "--violet-badge"),
    ("--info-text", "--info-badge"),
    ("--cyan-text", "--cyan-badge"),
    ("--note-text", "--panel"),
    ("--code-text", "--code-bg"),
    ("--topbar-text", "--topbar-bg"),
    ("--topbar-link", "--topbar-bg"),
    ("--topbar-muted", "--topbar-bg"),
    ("--topbar-strong", "--topbar-hover"),
    ("--brand-mark", "--topbar-bg"),
    ("--toast-text", "--toast-bg"),
    ("--toast-text", "--toast-err"),
    ("--toast-text", "--toast-ok"),
]
#: Icons and marks a user must make out: WCAG AA for graphics (3:1).
GRAPHIC_PAIRS = [
    ("--icon-ink", "--hover"),
    ("--icon-ink", "--node-bg"),
    *[
        ("--icon-ink", f"--tint-{kind}")
        for kind in ("trigger", "action", "condition", "delay", "transform", "merge", "unknown")
    ],
    ("--st-running", "--panel"),
    ("--st-succeeded", "--panel"),
    ("--st-failed", "--panel"),
    ("--st-retrying", "--panel"),
    ("--st-failed", "--node-bg"),
    ("--branch-true", "--node-bg"),
    ("--branch-false", "--node-bg"),
    ("--accent", "--node-bg"),
]

COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}\b|\brgba?\(|\bhsla?\(")


def _block(css: str, start: int) -> tuple[str, int]:
    """The text between the brace at or after ``start`` and its matching brace."""
    opening = css.index("{", start)
    depth = 0
    for index in range(opening, len(css)):
        if css[index] == "{":
            depth += 1
        elif css[index] == "}":
            depth -= 1
            if depth == 0:
                return css[opening + 1 : index], index + 1
    raise AssertionError("unbalanced braces")


def _declarations(block: str) -> dict[str, str]:
    block = re.sub(r"/\*.*?\*/", "", block, flags=re.S)
    return {name: value.strip() for name, value in re.findall(r"(--[\w-]+)\s*:\s*([^;]+);", block)}


def _tokens() -> dict[str, dict[str, str]]:
    css = re.sub(r"/\*.*?\*/", "", STUDIO_CSS.read_text(encoding="utf-8"), flags=re.S)
    light, _ = _block(css, css.index(":root"))
    media, _ = _block(css, css.index(DARK_QUERY))
    dark, _ = _block(media, media.index(":root"))
    light_tokens = _declarations(light)
    return {"light": light_tokens, "dark": {**light_tokens, **_declarations(dark)}}


TOKENS = _tokens()


def _rgb(tokens: dict[str, str], name: str) -> tuple[float, float, float]:
    value = tokens[name]
    while value.startswith("var("):  # a token naming another
        value = tokens[value[4:-1].strip()]
    hex_digits = value.lstrip("#")
    assert re.fullmatch(r"[0-9a-fA-F]{3}|[0-9a-fA-F]{6}", hex_digits), f"{name}: {value}"
    if len(hex_digits) == 3:
        hex_digits = "".join(c * 2 for c in hex_digits)
    return tuple(int(hex_digits[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def _luminance(rgb: tuple[float, float, float]) -> float:
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(tokens: dict[str, str], foreground: str, background: str) -> float:
    """The WCAG contrast ratio of two tokens (1 to 21)."""
    lighter, darker = sorted(
        (_luminance(_rgb(tokens, foreground)), _luminance(_rgb(tokens, background))),
        reverse=True,
    )
    return (lighter + 0.05) / (darker + 0.05)


def test_the_contrast_helper_agrees_with_wcag():
    tokens = {"--black": "#000", "--white": "#ffffff", "--grey": "#777777"}
    assert contrast(tokens, "--black", "--white") == pytest.approx(21)
    assert contrast(tokens, "--grey", "--white") == pytest.approx(4.48, abs=0.01)


def test_dark_mode_overrides_the_surfaces_and_text():
    light, dark = TOKENS["light"], TOKENS["dark"]
    for name in ("--bg", "--panel", "--text", "--muted", "--border", "--node-bg", "--canvas-bg"):
        assert dark[name] != light[name], name
    assert _luminance(_rgb(dark, "--bg")) < 0.05 < _luminance(_rgb(dark, "--text"))
    assert _luminance(_rgb(light, "--bg")) > 0.5 > _luminance(_rgb(light, "--text"))


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize(("foreground", "background"), TEXT_PAIRS)
def test_text_meets_wcag_aa(theme: str, foreground: str, background: str):
    ratio = contrast(TOKENS[theme], foreground, background)
    assert ratio >= 4.5, f"{theme}: {foreground} on {background} is {ratio:.2f}:1"


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize(("foreground", "background"), GRAPHIC_PAIRS)
def test_icons_and_state_marks_meet_wcag_aa_for_graphics(
    theme: str, foreground: str, background: str
):
    ratio = contrast(TOKENS[theme], foreground, background)
    assert ratio >= 3, f"{theme}: {foreground} on {background} is {ratio:.2f}:1"


def test_form_controls_and_scrollbars_follow_the_system_setting():
    css = STUDIO_CSS.read_text(encoding="utf-8")
    root, _ = _block(css, css.index(":root"))
    assert re.search(r"color-scheme:\s*light dark;", root)


def test_every_token_a_style_sheet_uses_is_defined():
    defined = set(TOKENS["light"])
    missing = {
        f"{sheet.relative_to(ROOT)}: {name}"
        for sheet in STYLE_SHEETS
        # (a var() with a fallback is set by its element, e.g. the insights bars' --share)
        for name in re.findall(r"var\((--[\w-]+)\s*\)", sheet.read_text(encoding="utf-8"))
        if name not in defined
    }
    assert missing == set()


def test_style_sheets_paint_no_colour_outside_the_tokens():
    """A colour written into a rule stays light in dark mode (a white box on a dark page):
    rules name tokens, and the tokens have a light and a dark value."""
    found = []
    for sheet in STYLE_SHEETS:
        css = sheet.read_text(encoding="utf-8")
        if sheet == STUDIO_CSS:  # the token blocks themselves hold the colours
            for marker in (DARK_QUERY, ":root"):
                start = css.index(marker)
                _, end = _block(css, start)
                css = css[:start] + "\n" * css[start:end].count("\n") + css[end:]
        for number, line in enumerate(css.splitlines(), 1):
            code = re.sub(r"/\*.*?\*/", "", line)
            if COLOUR.search(code):
                found.append(f"{sheet.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []
