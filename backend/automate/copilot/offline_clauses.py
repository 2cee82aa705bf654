"""Cutting a request into clauses, and keeping track of the words each clause used.

Pure Python. "When a paid invoice over 1000 EUR comes in, post to #billing on Slack and
email finance" is three clauses; each reader marks the characters it used, and whatever
meaningful words are left are what the drafter did not understand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from automate.copilot.offline_phrases import BETWEEN, EMAIL, QUOTED, URL, Span

_SEPARATOR: Final = re.compile(
    r"\s*(?:[,;:!?]|\.(?=\s|$)|\n|\b(?:and then|and also|and|then|also|plus|but|as well as)\b)\s*"
)
_LOWER_SAFE: Final = str.maketrans({"İ": "i"})

_FILLER_WORDS: Final = """
    a an the and or then also plus but when whenever if once each every time any on in into
    to for of from with by at as is are was were be been being gets get got has have had it
    its it's this that these those there here please just only also too new comes come
    arrives arrive arrived happens happen happened received receive coming some someone
    we i me us our my you your they them their should would could can will want wants like
    let lets do does make sure step steps node action message messages about via using use
    someone something up out so same right away immediately automatically straight too
    which who what workflow flow automation event events trigger triggered channel notify
    notification send sends sent post posts posted tell alert ping write share let know
    team details info information summary all everything amount total instead
    actually ok okay now yes well hmm hi hello thanks thank
    """
FILLER: Final = frozenset(_FILLER_WORDS.split())
"""Words that carry no instruction of their own (so leaving them unused is fine)."""


def lowered(text: str) -> str:
    """``text`` lower-cased with its length kept (spans index both)."""
    low = text.translate(_LOWER_SAFE).lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


@dataclass
class Clause:
    """One clause: its text (original and lower-cased) and the spans readers used."""

    text: str
    low: str
    start: int
    used: list[Span] = field(default_factory=list)

    def use(self, span: Span) -> None:
        """Mark ``span`` (relative to the clause) as understood."""
        if span[1] > span[0]:
            self.used.append(span)

    def use_all(self) -> None:
        """Mark the whole clause as understood."""
        self.used.append((0, len(self.text)))

    def masked(self) -> str:
        """The lower-cased text with used spans blanked out (so later readers skip them)."""
        chars = list(self.low)
        for start, end in self.used:
            chars[start:end] = " " * (end - start)
        return "".join(chars)

    @property
    def understood(self) -> bool:
        """Whether any reader used part of it."""
        return bool(self.used)

    def leftover(self, ignore: frozenset[str] = frozenset()) -> str:
        """The meaningful words no reader used, in order (``""`` when none); words in
        ``ignore`` (what the event is about: "the invoice") count as filler too."""
        masked = self.masked()
        words = []
        for match in re.finditer(r"[#@\w'\-/.]+", masked):
            word = match.group(0).strip(".'-")
            if word in ignore:
                continue
            if word and word not in FILLER and not word.isdigit() and len(word) > 1:
                words.append(self.text[match.start() : match.end()].strip(".'-"))
        return " ".join(words)


def _protected(text: str) -> list[Span]:
    spans = [m.span() for m in URL.finditer(text)]
    spans += [m.span() for m in EMAIL.finditer(text)]
    spans += [m.span() for m in QUOTED.finditer(text)]
    spans += [m.span() for m in BETWEEN.finditer(text)]
    spans += [m.span() for m in re.finditer(r"\d[,.:]\d", text)]
    return spans


def split_clauses(text: str) -> list[Clause]:
    """The clauses of ``text``: cut at punctuation and at "and", "then", "also", "but"…,
    never inside a URL, an address, a quotation or "between 10 and 20"."""
    low = lowered(text)
    protected = _protected(low)
    cuts: list[Span] = [
        m.span()
        for m in _SEPARATOR.finditer(low)
        if not any(s < m.end() and m.start() < e for s, e in protected)
    ]
    clauses, start = [], 0
    for cut_start, cut_end in [*cuts, (len(text), len(text))]:
        piece = text[start:cut_start]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            piece = piece.strip()
            begin = start + lead
            clauses.append(Clause(piece, low[begin : begin + len(piece)], begin))
        start = cut_end
    return clauses
