"""Every relative link in README.md and docs/ leads to a file that exists, and every
``#anchor`` to a heading of that file (GitHub's heading ids)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *ROOT.glob("docs/**/*.md")])
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
# Paths written as text ("see docs/howto/secrets.md") are links a reader follows by hand.
PATH_IN_TEXT = re.compile(
    r"(?<![\w/.])((?:docs|backend|tests|bench|studio|e2e)/[\w./-]+\.(?:md|py|json))"
)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def _anchors(page: Path) -> set[str]:
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6} (.+)$", FENCE.sub("", page.read_text()), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", "")).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _prose(page: Path) -> str:
    """The page without code blocks and HTML comments (the examples' hidden set-up)."""
    return re.sub(r"<!--.*?-->", "", FENCE.sub("", page.read_text()), flags=re.DOTALL)


def _links(page: Path) -> list[str]:
    text = _prose(page)
    return LINK.findall(text) + IMAGE.findall(text)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    broken = []
    for target in _links(page):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: {file.relative_to(ROOT)} does not exist")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}:\n" + "\n".join(broken)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_paths_named_in_the_text_exist(page):
    missing = sorted(
        {path for path in PATH_IN_TEXT.findall(_prose(page)) if not (ROOT / path).exists()}
    )
    assert not missing, f"{page.relative_to(ROOT)} names files that do not exist: {missing}"


def test_the_anchor_reader_follows_github_rules():
    page = ROOT / "docs/howto/studio.md"
    assert "3-test-a-step" in _anchors(page)
    assert "refused-input" in _anchors(page)
