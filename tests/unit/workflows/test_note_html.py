"""A sticky note's Markdown as HTML: the Markdown a person writes renders; whatever would
run script, load something, restyle the page or leave through a dangerous link does not."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from automate.workflows.note_html import ALLOWED_TAGS, LINK_REL, render_note_html
from automate.workflows.notes import MAX_NOTE_CHARS


class Elements(HTMLParser):
    """The elements of an HTML fragment as a browser would parse them: (tag, attributes)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))

    def handle_comment(self, data):
        self.found.append(("<!--", {}))


def assert_safe(html: str) -> None:
    """Only allowed elements; only href/title/rel/target, on links only; every href
    http(s) or mailto, with our rel; no comments."""
    for tag, attributes in Elements(html).found:
        assert tag in ALLOWED_TAGS, html
        if tag == "a":
            assert set(attributes) <= {"href", "title", "rel", "target"}, html
            assert re.match(r"(https?:|mailto:)", attributes.get("href") or ""), html
            assert attributes.get("rel") == LINK_REL, html
        else:
            assert not attributes, html


# --- what a person writes renders -----------------------------------------------------


def test_markdown_renders_headings_emphasis_lists_code_and_links():
    html = render_note_html(
        "# Title\n## Sub\n\n**bold** *it* ~~no~~ `code`\n\n- a\n- b\n\n1. one\n2. two\n\n"
        "> quoted\n\n```\nx = 1\n```\n\n---\n\n[docs](https://example.com/docs)"
    )
    assert "<h1>Title</h1>" in html
    assert "<h2>Sub</h2>" in html
    assert "<strong>bold</strong>" in html
    assert "<em>it</em>" in html
    assert "<code>code</code>" in html
    assert "<ul>\n<li>a</li>" in html
    assert "<ol>\n<li>one</li>" in html
    assert "<blockquote>" in html
    assert "<pre><code>x = 1\n</code></pre>" in html
    assert "<hr" in html
    assert f'<a href="https://example.com/docs" rel="{LINK_REL}" target="_blank">docs</a>' in html
    assert_safe(html)


def test_line_breaks_are_kept_as_typed():
    assert render_note_html("first\nsecond") == "<p>first<br>\nsecond</p>"


def test_bare_addresses_become_safe_links_but_not_inside_code():
    html = render_note_html("See https://example.com/a and `https://example.com/b`")
    assert f'<a href="https://example.com/a" rel="{LINK_REL}" target="_blank">' in html
    assert "<code>https://example.com/b</code>" in html


def test_mailto_links_are_kept():
    html = render_note_html("[mail us](mailto:ops@example.com)")
    assert 'href="mailto:ops@example.com"' in html
    assert f'rel="{LINK_REL}"' in html


def test_a_link_title_is_kept_and_escaped():
    html = render_note_html('[x](https://example.com "a <b> & c")')
    assert 'title="a &lt;b&gt; &amp; c"' in html
    assert_safe(html)


# --- hostile input --------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    '<img src=x onerror="alert(1)">',
    "<img src=x onerror=alert(1)//",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe src=javascript:alert(1)></iframe>",
    '<object data="javascript:alert(1)"></object>',
    "<style>body{display:none}</style>",
    '<p style="position:fixed;inset:0">cover</p>',
    '<a href="https://ok.example" onclick="alert(1)">x</a>',
    '<div onmouseover="alert(1)">hover</div>',
    "<details open ontoggle=alert(1)>",
    "<body onload=alert(1)>",
    "<!-- <script>alert(1)</script> -->",
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    '<form action="javascript:alert(1)"><button>go</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    "<div>\n<script>alert(1)</script>\n</div>",
    '<div markdown="1">*x*<script>alert(1)</script></div>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](%6Aavascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](DATA:text/html,<script>alert(1)</script>)",
    "[x](file:///etc/passwd)",
    "[x]: javascript:alert(1)\n\n[x]",
    "<javascript:alert(1)>",
    "![x](https://evil.example/track.png)",
    "![x](javascript:alert(1))",
    '![x](x" onerror="alert(1))',
    "![x][img]\n\n[img]: https://evil.example/i.png",
    "[![x](https://evil.example/i.png)](https://example.com)",
    '[x](https://example.com" onmouseover="alert(1))',
    "[<img src=x onerror=alert(1)>](https://example.com)",
    "**<img src=x onerror=alert(1)>**",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "<a href='javascript:alert(1)'>x</a>",
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    "<<script>script>alert(1)<</script>/script>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<template><script>alert(1)</script></template>",
    "<x onclick=alert(1)>x</x>",
    '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_comes_out_harmless(text):
    assert_safe(render_note_html(text))


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "<style>body{display:none}</style>",
        "<div onmouseover='alert(1)'>hover</div>",
    ],
)
def test_raw_html_is_shown_as_text_not_dropped(text):
    """A person who typed HTML sees what they typed (escaped), not a silent gap."""
    html = render_note_html(text)
    assert "&lt;" in html
    assert "alert(1)" in html or "display:none" in html


@pytest.mark.parametrize(
    "target", ["javascript:alert(1)", "data:text/html,x", "/studio/", "#top", "ftp://x.example"]
)
def test_a_link_to_anything_but_http_or_mail_keeps_its_text_but_not_its_target(target):
    html = render_note_html(f"see [the docs]({target}) now")
    assert html == "<p>see the docs now</p>"


def test_images_are_never_loaded():
    html = render_note_html("![logo](https://example.com/logo.png)")
    assert "<img" not in html
    assert "logo" in html


def test_every_link_gets_the_rel_and_a_new_tab():
    html = render_note_html(
        '[a](https://a.example) <https://b.example> [c](http://c.example "t") www.python.org'
    )
    links = re.findall(r"<a [^>]*>", html)
    assert len(links) == 4
    for link in links:
        assert f'rel="{LINK_REL}"' in link
        assert 'target="_blank"' in link


def test_text_over_the_cap_is_refused():
    assert render_note_html("x" * MAX_NOTE_CHARS).startswith("<p>x")
    with pytest.raises(ValueError, match="at most 10000 characters"):
        render_note_html("x" * (MAX_NOTE_CHARS + 1))


def test_the_same_text_renders_the_same_html():
    text = "# Same\n\n[a](https://example.com)"
    assert render_note_html(text) == render_note_html(text)
