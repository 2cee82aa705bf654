"""Mask secrets in step outputs, audit details and log text before anything stores them.

Pure Python (no Django), because it runs on every step output and every log record.

Three things are masked, always with ``MASK`` (``"********"``):

* the whole value under a **sensitive key** (``password``, ``X-Api-Key``, ``accessToken``…);
* the **secret part** of strings that look like credentials (``Bearer …``, JWTs, AWS key
  ids, Stripe/GitHub/Slack tokens, PEM private keys, ``scheme://user:PASSWORD@host``,
  ``password=…``), leaving the text around it readable;
* **known secret values**: every value ``automate.secrets.resolve`` returned in this
  process is remembered by ``secret_masker`` and masked wherever it shows up later, also
  in its derived forms (base64, ``user:value`` base64 as in HTTP Basic auth, any letter
  case, reversed).

See docs/reference/secrets.md for the exact rules.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

__all__ = [
    "MASK",
    "MAX_DEPTH",
    "SENSITIVE_WORDS",
    "SecretMasker",
    "derived_spellings",
    "is_sensitive_key",
    "redact",
    "redact_text",
    "register_secret_value",
    "secret_masker",
]

MASK = "********"

# Containers nested deeper than this are replaced by MASK rather than walked: JSON is never
# this deep on purpose, and the cap keeps a cyclic structure from recursing forever.
MAX_DEPTH = 64

SENSITIVE_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "token",
        "key",
        "apikey",
        "authorization",
        "cookie",
        "credential",
        "credentials",
        "sessionid",
        "signature",
        "privatekey",
        "accesstoken",
        "refreshtoken",
        "clientsecret",
    }
)

# ---------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------

_KEY_PART_SEPARATOR = re.compile(r"[^A-Za-z0-9]+")
# "XApiKey" -> X, Api, Key; "apiKey2" -> api, Key, 2; "APIKEY" -> APIKEY.
_CAMEL_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


@functools.lru_cache(maxsize=4096)
def _is_sensitive_key_text(key: str) -> bool:
    words = [
        word.lower()
        for part in _KEY_PART_SEPARATOR.split(key)
        for word in _CAMEL_WORD.findall(part)
    ]
    # A trailing number does not change what the key holds: "password2", "api_key_1".
    while words and words[-1].isdigit():
        words.pop()
    if not words:
        return False
    return words[-1] in SENSITIVE_WORDS or "".join(words) in SENSITIVE_WORDS


def is_sensitive_key(key: object) -> bool:
    """Whether the value stored under ``key`` must be masked whole.

    The key is split into words (camelCase, ``_ - .``, spaces and other punctuation all
    separate); it is sensitive when its last word, or all its words run together, is in
    ``SENSITIVE_WORDS``. ``"X-Api-Key"`` and ``"csrf_token"`` are sensitive,
    ``"token_count"`` and ``"keyboard"`` are not. Keys that are not strings never are.
    """
    return isinstance(key, str) and _is_sensitive_key_text(key)


# ---------------------------------------------------------------------------------------
# Known secret values
# ---------------------------------------------------------------------------------------


# Base64 fragments shorter than this are not masked: too likely to occur by chance.
_MIN_ENCODED_LENGTH = 6
# Characters of a base64 text that depend on the k bytes before the secret (k = 0, 1, 2).
_LEADING_MIXED = (0, 2, 3)


def _base64_spellings(value: str) -> set[str]:
    """The base64 text a secret shows up as, alone or inside something longer.

    Base64 turns each 3 bytes into 4 characters, so inside a longer encoded text (such as
    the ``user:secret`` of HTTP Basic auth) the secret's characters depend on where it
    falls in a 3-byte group. For each of the three positions, the characters that depend
    on the secret alone are kept: one of them is in the text whatever comes before or
    after. Standard and URL-safe alphabets both.
    """
    raw = value.encode("utf-8")
    spellings: set[str] = set()
    for offset in range(3):
        padded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        encoded = padded.rstrip("=")
        if offset == 0:
            spellings |= {padded, encoded}  # the whole encoding, when encoded alone
        if (offset + len(raw)) % 3:
            encoded = encoded[:-1]  # its last character mixes in the byte that follows
        core = encoded[_LEADING_MIXED[offset] :]
        spellings.add(core)
    spellings |= {spelling.translate(_URLSAFE) for spelling in spellings}
    return {spelling for spelling in spellings if len(spelling) >= _MIN_ENCODED_LENGTH}


_URLSAFE = str.maketrans("+/", "-_")


def derived_spellings(value: str) -> dict[str, bool]:
    """Every spelling of ``value`` to mask, each mapped to "match it in any case".

    The value and its reverse, each also URL-encoded and JSON-escaped, in any letter case
    (``upper``, ``lower``, ``title``…); and its base64 forms (``_base64_spellings``),
    which are case-sensitive.
    """
    spellings: dict[str, bool] = dict.fromkeys(_base64_spellings(value), False)
    for form in (value, value[::-1]):
        for spelling in (form, quote(form, safe=""), json.dumps(form)[1:-1]):
            spellings[spelling] = True
    return spellings


def _alternation(spellings: Iterable[str], *, any_case: bool) -> re.Pattern[str] | None:
    # Literal alternatives grouped by their first two characters: re tries the branches
    # of an alternation one by one, so a flat list of thousands of values costs thousands
    # of comparisons at every position of the text; grouped, it costs a few.
    tree: dict[str, dict[str, set[str]]] = {}
    for spelling in spellings:
        key = spelling.lower() if any_case else spelling
        tree.setdefault(key[0], {}).setdefault(key[1], set()).add(key[2:])
    if not tree:
        return None
    branches = []
    for first, seconds in sorted(tree.items()):
        inner = []
        for second, rests in sorted(seconds.items()):
            # Longest first, so a secret that contains a shorter one is masked whole.
            ordered = sorted(rests, key=len, reverse=True)
            inner.append(re.escape(second) + "(?:" + "|".join(map(re.escape, ordered)) + ")")
        branches.append(re.escape(first) + "(?:" + "|".join(inner) + ")")
    return re.compile("|".join(branches), re.IGNORECASE if any_case else 0)


class _Chunk:
    """Up to ``_CHUNK_SIZE`` known values and their compiled patterns (None: stale).

    ``patterns`` is ``(folded, exact)``: the any-case spellings lower-cased, matched
    against the lower-cased text (much faster than ``re.IGNORECASE``), and the
    case-sensitive ones. ``any_case`` (``re.IGNORECASE``) is only built for the rare text
    whose lower-casing changes its length.
    """

    __slots__ = ("any_case", "patterns", "values")

    def __init__(self) -> None:
        self.values: set[str] = set()
        self.patterns: tuple[re.Pattern[str] | None, re.Pattern[str] | None] | None = None
        self.any_case: re.Pattern[str] | None = None


# Values are compiled in chunks of this many, so registering a new value recompiles one
# small pattern, not one holding every known value.
_CHUNK_SIZE = 64


class SecretMasker:
    """A bounded, thread-safe set of known secret values to mask wherever they appear.

    Each value is masked in every spelling of ``derived_spellings``: as it is, reversed,
    URL-encoded, JSON-escaped, in any letter case, and base64-encoded (alone or inside a
    longer encoded text such as HTTP Basic credentials). Values shorter than
    ``min_length`` characters are ignored (masking every ``"abc"`` in every output would
    destroy more than it protects). When more than ``max_values`` values are held, the
    least recently registered ones are forgotten first.
    """

    def __init__(self, *, min_length: int = 4, max_values: int = 512) -> None:
        self.min_length = min_length
        self.max_values = max_values
        self._lock = threading.Lock()
        # value -> its spellings, least recently registered first.
        self._values: OrderedDict[str, dict[str, bool]] = OrderedDict()
        self._chunks: list[_Chunk] = []
        self._chunk_of: dict[str, _Chunk] = {}

    def add(self, value: str) -> None:
        """Remember ``value`` (and all its derived spellings) as a secret."""
        if not isinstance(value, str) or len(value) < self.min_length:
            return
        with self._lock:
            if value in self._values:
                # Re-registering a known value (every resolve() of the same secret) costs
                # nothing but keeps it from being forgotten.
                self._values.move_to_end(value)
                return
        spellings = derived_spellings(value)
        with self._lock:
            if value in self._values:
                return
            self._values[value] = spellings
            if not self._chunks or len(self._chunks[-1].values) >= _CHUNK_SIZE:
                self._chunks.append(_Chunk())
            chunk = self._chunks[-1]
            chunk.values.add(value)
            chunk.patterns = None  # rebuilt lazily by the next mask()
            self._chunk_of[value] = chunk
            while len(self._values) > self.max_values:
                forgotten, _ = self._values.popitem(last=False)
                self._forget(forgotten)

    def _forget(self, value: str) -> None:
        chunk = self._chunk_of.pop(value)
        chunk.values.discard(value)
        chunk.patterns = None
        if not chunk.values:
            self._chunks.remove(chunk)

    def clear(self) -> None:
        """Forget every known value."""
        with self._lock:
            self._values.clear()
            self._chunks.clear()
            self._chunk_of.clear()

    def __contains__(self, value: object) -> bool:
        with self._lock:
            return value in self._values

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def _spellings(self, chunk: _Chunk, *, folds: bool) -> set[str]:
        return {
            spelling
            for value in chunk.values
            for spelling, any_case in self._values[value].items()
            if any_case is folds
        }

    def _compiled(self, *, same_length_lower: bool) -> list[tuple[re.Pattern[str], bool]]:
        """``(pattern, runs on the lower-cased text)`` for every chunk."""
        with self._lock:
            patterns: list[tuple[re.Pattern[str], bool]] = []
            for chunk in self._chunks:
                if chunk.patterns is None:
                    folded = {spelling.lower() for spelling in self._spellings(chunk, folds=True)}
                    chunk.patterns = (
                        _alternation(folded, any_case=False),
                        _alternation(self._spellings(chunk, folds=False), any_case=False),
                    )
                    chunk.any_case = None
                folded_pattern, exact = chunk.patterns
                if not same_length_lower:
                    if chunk.any_case is None:
                        chunk.any_case = _alternation(
                            self._spellings(chunk, folds=True), any_case=True
                        )
                    folded_pattern = chunk.any_case
                if folded_pattern is not None:
                    patterns.append((folded_pattern, same_length_lower))
                if exact is not None:
                    patterns.append((exact, False))
            return patterns

    def mask(self, text: str) -> str:
        """Return ``text`` with every known value, in any of its spellings, replaced by ``MASK``."""
        if not text:
            return text
        lowered = text.lower()
        same_length = len(lowered) == len(text)
        spans: list[tuple[int, int]] = []
        for pattern, on_lowered in self._compiled(same_length_lower=same_length):
            subject = lowered if on_lowered else text
            spans.extend(match.span() for match in pattern.finditer(subject))
        if not spans:
            return text
        # Overlapping matches (a secret containing another, a value next to its base64)
        # are masked as one stretch, so no part of the longer one stays visible.
        spans.sort()
        parts: list[str] = []
        position = 0
        start, end = spans[0]
        for next_start, next_end in spans[1:]:
            if next_start < end:
                end = max(end, next_end)
                continue
            parts.extend((text[position:start], MASK))
            position = end
            start, end = next_start, next_end
        parts.extend((text[position:start], MASK, text[end:]))
        return "".join(parts)


secret_masker = SecretMasker()
"""The process-wide registry that ``resolve()`` fills and ``redact()`` consults."""


def register_secret_value(value: str) -> None:
    """Mask ``value`` from now on wherever ``redact``/``redact_text`` meet it.

    ``automate.secrets.resolve`` calls this for every value it returns; call it yourself
    for secrets obtained another way (an OAuth token refreshed by a connector, say).
    """
    secret_masker.add(value)


# ---------------------------------------------------------------------------------------
# Text patterns
# ---------------------------------------------------------------------------------------

# Python 3.10's re has no possessive quantifiers (3.11 added ``X*+`` and ``(?>X)``).
# The patterns below are written with them and compiled as written on 3.11+; on 3.10
# _compile rewrites each possessive ``ATOM*+`` into ``(?=(?P<_pN>ATOM*))(?P=_pN)``, the
# classic equivalent: a look-ahead is atomic (the engine never backtracks into it) and the
# back-reference then consumes exactly what it captured. tests/unit/governance checks that
# both forms match the same spans (on 3.11+) and that redaction stays linear (on both).
_POSSESSIVE_TOKEN = re.compile(
    r"(?P<atom>\[(?:\\.|[^\]\\])*\]|\\.|[^\\\[])"  # a class, an escape or one character
    r"(?P<quantifier>[*+?]|\{\d*(?:,\d*)?\})?(?P<possessive>\+)?"
)


def _without_possessive(pattern: str) -> str:
    """``pattern`` with each possessive quantifier rewritten as a look-ahead + back-reference.

    Only single atoms (a character class, an escape, a character) may be possessive here;
    a possessive group raises ``ValueError``. The added groups are named ``_p0``, ``_p1``...
    """
    count = 0

    def rewrite(token: re.Match[str]) -> str:
        nonlocal count
        if token["possessive"] is None:
            return token[0]
        if token["quantifier"] is None or token["atom"] in "()|":
            raise ValueError(f"only a quantified single atom can be possessive: {token[0]!r}")
        name = f"_p{count}"
        count += 1
        return f"(?=(?P<{name}>{token['atom']}{token['quantifier']}))(?P={name})"

    return _POSSESSIVE_TOKEN.sub(rewrite, pattern)


def _compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    if sys.version_info < (3, 11):
        pattern = _without_possessive(pattern)
    return re.compile(pattern, flags)


_PEM_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----"
    r"[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|\Z)"
)

# The password is everything between "user:" and the last "@" that is followed by a
# host, so a password holding "@", "/" or "#" (invalid but common, as in
# "u:a@b/c#d@host") is masked whole, not just up to its first "@". Only an "@" after a
# "?" ends the search: "/p?email=a@b.com" is a query, and stays readable.
#
# Patterns that could start anywhere inside a long unbroken run ("a.a.a…", base64 blobs,
# "xoxb-xoxb-…") start with a look-behind instead of \b, quantifiers are possessive and
# the password is capped at 512 characters; otherwise such runs would be rescanned from
# every position, which is quadratic (tests/unit/governance checks the timing).
_URL_USERINFO = (
    r"(?P<url_prefix>(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]*+://[^\s:/?#]*+:)"
    r"(?P<url_password>[^\s@]{0,512}+(?:@[^\s@?]{0,512}+){0,16})@(?=[^\s@/?#]*+(?:[/?#\s]|$))"
)
# "Bearer <token>", "Basic <base64>" and DRF's "Token <key>": the word is only a scheme when
# what follows looks like a credential ("Bearer of good news" is English; see
# _looks_like_token and _is_basic_credential).
_AUTH_SCHEME = r"(?P<scheme>\b(?i:bearer|basic|token)[ \t]+)(?P<credential>[A-Za-z0-9\-._~+/]++=*)"
_VENDOR_CREDENTIALS = (
    r"(?P<token>"
    r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}+\.[A-Za-z0-9_-]{4,}+\.[A-Za-z0-9_-]*+"  # JWT
    r"|\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"  # AWS access key id
    r"|\b[rs]k_(?:live|test)_[A-Za-z0-9]{8,}+"  # Stripe secret / restricted key
    r"|\bwhsec_[A-Za-z0-9+/]{16,}+=*"  # Stripe webhook signing secret
    r"|\bgh[oprsu]_[A-Za-z0-9]{16,}+|\bgithub_pat_[A-Za-z0-9_]{16,}+"  # GitHub
    r"|\bglpat-[A-Za-z0-9_-]{20,}+"  # GitLab
    r"|(?<![A-Za-z0-9-])xox[abeprs]-[A-Za-z0-9-]{8,}+"  # Slack
    r"|(?<![A-Za-z0-9-])xapp-[0-9]-[A-Za-z0-9-]{10,}+"  # Slack app-level token
    r"|(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}+"  # OpenAI, Anthropic
    r"|\bAIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])"  # Google API key
    r"|\bSG\.[A-Za-z0-9_-]{16,}+\.[A-Za-z0-9_-]{16,}+"  # SendGrid
    r"|\bnpm_[A-Za-z0-9]{36}\b|\bhf_[A-Za-z0-9]{30,}+"  # npm, Hugging Face
    r"|\bda_[A-Za-z0-9]{12}_[A-Za-z0-9]{20,}+"  # Django Automate API token
    r")"
)
# A Slack incoming-webhook URL is itself the credential: its last path segment.
_SLACK_WEBHOOK = (
    r"(?P<hook_prefix>\bhooks\.slack\.com/(?:services|workflows|triggers)/"
    r"[A-Z0-9]++/[A-Z0-9]++/)(?P<hook_secret>[A-Za-z0-9]++)"
)
# Pass 1: credentials recognisable by their own shape. Each match is only the credential
# (and its scheme), so nothing else hides inside a match.
_CREDENTIAL_PATTERN = _compile(
    "|".join((_URL_USERINFO, _AUTH_SCHEME, _VENDOR_CREDENTIALS, _SLACK_WEBHOOK))
)

# Pass 2: values named by a sensitive key. "Authorization: …" or "Cookie: a=b" at the
# start of a line (header dumps) mask the rest of the line; password=hunter2 (query
# strings, logfmt, kwargs reprs) and 'password': 'hunter2' (dict reprs, JSON) mask the
# value. Keys are judged by the same rule as dict keys. The pattern stops after the
# separator; the value is only looked at when the key is sensitive.
_NAMED_VALUE_PATTERN = _compile(
    r"^[ \t]*+(?P<header_name>[A-Za-z0-9_\-]++):[ \t]*+(?=\S)"
    r"|(?<![A-Za-z0-9_.\-])(?P<key>[A-Za-z0-9_.\-]++)"
    r"(?:[ \t]*=[ \t]*+|['\"][ \t]*:[ \t]*+(?=['\"]))",
    re.MULTILINE,
)
# A quoted value, or an unquoted one up to the next delimiter (an unterminated quote is
# masked up to the delimiter too).
_VALUE_PATTERN = _compile(r"'[^'\n]*'|\"[^\"\n]*\"|['\"]?[^\s&;,)\]}'\"]*+")

_REF_PREFIX = "$secret:"
_TOKEN_PUNCTUATION = frozenset("._~+=")


def _looks_like_token(value: str) -> bool:
    """Whether ``value`` is shaped like a credential rather than a word of prose.

    Tokens are machine-made: they hold digits or token punctuation (``abc123``,
    ``abc.def``, JWTs, base64), or are long runs of letters no word is (24+ letters, or
    16+ with capitals inside). Words that follow "bearer" or "token" in English
    ("of", "bonds", "authentication", "well-known", "tokens/keys") are none of these.
    """
    if len(value) < 6:
        return False
    if any(char.isdigit() or char in _TOKEN_PUNCTUATION for char in value):
        return True
    if len(value) >= 24:
        return True
    return (
        len(value) >= 16
        and any(char.isupper() for char in value[1:])
        and any(char.islower() for char in value)
    )


def _is_basic_credential(credential: str) -> bool:
    # Basic credentials are base64("user:password") of printable text; "Basic usage" is
    # English (and "Basic auth" decodes to bytes that are not text with a colon).
    padded = credential + "=" * (-len(credential) % 4)
    try:
        decoded = base64.b64decode(padded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return False
    return ":" in decoded and decoded.isprintable()


def _mask_credential(match: re.Match[str]) -> str:
    if match["token"] is not None:
        return MASK
    if match["url_password"] is not None:
        return match["url_prefix"] + MASK + "@"
    if match["hook_secret"] is not None:
        return match["hook_prefix"] + MASK
    credential = match["credential"]
    scheme = match["scheme"]
    if scheme.strip().lower() == "basic":
        is_secret = _is_basic_credential(credential)
    else:
        is_secret = _looks_like_token(credential)
    if is_secret:
        return scheme + MASK
    # Not this scheme's credential, but it may still hold one of another shape
    # ("Basic eyJ…" with a JWT); the credential has no spaces, so this recursion is shallow.
    return scheme + _CREDENTIAL_PATTERN.sub(_mask_credential, credential)


def _mask_value(value: str) -> str:
    quote_char = ""
    if len(value) >= 2 and value[0] in "'\"" and value[-1] == value[0]:
        quote_char, value = value[0], value[1:-1]
    if value and not value.startswith(_REF_PREFIX):
        value = MASK
    return quote_char + value + quote_char


# Header-style lines whose whole value is the secret, however many words it has
# ("Authorization: Bearer x", "Cookie: a=b; c=d", "Password: correct horse battery").
_LINE_SECRET_WORDS = frozenset(
    {"authorization", "cookie", "password", "passwd", "pwd", "passphrase", "credentials"}
)


def _mask_header_value(name: str, value: str) -> str | None:
    """The masked value of a ``Name: value`` line with a sensitive name (None: leave it).

    Other sensitive names ("Token:", "Key:", "Secret:") hold one word; a sentence after
    them ("Key: press Enter to go on") is prose, and only a token-shaped first word of
    it is masked.
    """
    words = _KEY_PART_SEPARATOR.split(name.lower())
    if words[-1] in _LINE_SECRET_WORDS or len(value.split()) == 1:
        return MASK
    first, _, rest = value.partition(" ")
    if _looks_like_token(first.strip()):
        return MASK + " " + rest
    return None


def _mask_named_values(text: str) -> str:
    # A loop rather than re.sub: after a key that is not sensitive, scanning resumes right
    # after its separator, because its value may hold a sensitive pair of its own
    # ("next=https://x/?token=abc").
    parts: list[str] = []
    position = 0
    while match := _NAMED_VALUE_PATTERN.search(text, position):
        header_name = match["header_name"]
        parts.append(text[position : match.end()])
        position = match.end()
        if not is_sensitive_key(header_name if header_name is not None else match["key"]):
            continue
        if header_name is not None:
            line_end = text.find("\n", position)
            line_end = len(text) if line_end == -1 else line_end
            if text[line_end - 1 : line_end] == "\r":
                line_end -= 1
            masked = _mask_header_value(header_name, text[position:line_end])
            if masked is not None:
                parts.append(masked)
                position = line_end
        else:
            value = _VALUE_PATTERN.match(text, position)
            assert value is not None  # the last alternative matches the empty string
            parts.append(_mask_value(value[0]))
            position = value.end()
    parts.append(text[position:])
    return "".join(parts)


def redact_text(text: str) -> str:
    """Return ``text`` with known secret values and credential-shaped substrings masked.

    Only the secret part is replaced, so the message stays readable:
    ``"GET https://bob:hunter2@example.com"`` becomes
    ``"GET https://bob:********@example.com"`` and ``"Authorization: Bearer abc.def"``
    becomes ``"Authorization: ********"``. Use it on log messages and exception text.
    """
    if not text:
        return text
    text = secret_masker.mask(text)
    if "PRIVATE KEY-----" in text:
        text = _PEM_PRIVATE_KEY.sub(MASK, text)
    text = _CREDENTIAL_PATTERN.sub(_mask_credential, text)
    if "=" in text or ":" in text:
        text = _mask_named_values(text)
    return text


# ---------------------------------------------------------------------------------------
# Structures
# ---------------------------------------------------------------------------------------


def _is_secret_reference(value: object) -> bool:
    # Mirrors automate.governance.secrets.is_secret_ref (kept here so this module stays
    # free of Django): a reference names a secret, it is not one, so it stays visible.
    if isinstance(value, str):
        return value.startswith(_REF_PREFIX)
    return isinstance(value, Mapping) and len(value) == 1 and isinstance(value.get("$secret"), str)


def _redact_sensitive_value(value: Any) -> Any:
    if value is None or value == "" or _is_secret_reference(value):
        return value
    return MASK


def _redact(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= MAX_DEPTH:
        return MASK
    if isinstance(value, Mapping):
        if _is_secret_reference(value):
            return {"$secret": redact_text(value["$secret"])}
        return {
            key: (
                _redact_sensitive_value(item) if is_sensitive_key(key) else _redact(item, depth + 1)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact(item, depth + 1) for item in value]
    if isinstance(value, tuple):
        items = [_redact(item, depth + 1) for item in value]
        if hasattr(value, "_fields"):  # a namedtuple keeps its type
            return type(value)(*items)
        return tuple(items)
    if isinstance(value, set | frozenset):
        return type(value)(_redact(item, depth + 1) for item in value)
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", errors="surrogateescape")
        redacted = redact_text(text)
        if redacted == text:
            return value if isinstance(value, bytes) else bytearray(value)
        return redacted.encode("utf-8", errors="surrogateescape")
    # Anything else (model instances, querysets, generators) is returned as it is: walking
    # it could run queries or consume it. Step outputs and log extras are JSON-shaped.
    return value


def redact(data: Any) -> Any:
    """Return a copy of ``data`` with every secret replaced by ``MASK`` (``"********"``).

    * A value under a sensitive key (see ``is_sensitive_key``) is replaced whole, whatever
      its type, except ``None`` and ``""`` (kept so "not set" stays visible) and secret
      references such as ``{"$secret": "NAME"}`` (a name, not a value).
    * Every other string, at any depth and at the top level, goes through
      ``redact_text``.
    * Dicts (any mapping), lists, tuples and sets are copied; other objects are returned
      as they are. The input is never modified.
    * Containers nested more than ``MAX_DEPTH`` levels deep are replaced by ``MASK``.

    >>> redact({"user": "bob", "password": "hunter2", "n": 3})
    {'user': 'bob', 'password': '********', 'n': 3}
    """
    return _redact(data, 0)
