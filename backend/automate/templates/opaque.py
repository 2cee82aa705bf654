"""Secret values inside a template: opaque, and only ever placed whole into the output.

``{{ secrets.NAME }}`` does not give the template the secret's text. It gives a
:class:`SecretValue`, an object that knows the secret's *name* and nothing else, and whose
every operation (``str()``, ``==``, ``bool()``, ``len()``, iteration, indexing, ``+``, ``%``,
formatting, hashing) raises. When such a value is printed, the output gets a *placeholder*
(a random per-render token), and the engine swaps each intact placeholder for the secret's
value only once the whole input has been rendered. So even a template that slipped past the
static check (:mod:`automate.templates.checks`) can transform only the placeholder, never the
value: reversing, slicing or upper-casing it yields nothing secret, and the engine refuses
the output because a placeholder went missing.

Nothing here imports Django.
"""

from __future__ import annotations

import re
import secrets as random_tokens
from typing import Any, NoReturn

from .exceptions import TemplateViolation

#: The one thing a template may do with a secret, for error messages.
HOW_TO_USE = "a secret can only be placed whole into the output, as {{ secrets.NAME }}"


def refuse_secret(name: str, what: str, *, line: int | None = None) -> NoReturn:
    """Raise the violation for doing ``what`` with secret ``name``."""
    raise TemplateViolation(f"{HOW_TO_USE}; secrets.{name} {what}", kind="secret", line=line)


class SecretValue:
    """``secrets.NAME`` inside a template: the name of a resolved secret, never its value."""

    __slots__ = ("_name", "_owner", "_slot")

    def __init__(self, name: str, slot: int, owner: SecretSlots) -> None:
        self._name = name
        self._slot = slot
        self._owner = owner

    def _refuse(self, what: str) -> NoReturn:
        refuse_secret(self._name, what)

    def __repr__(self) -> str:
        return f"<secret {self._name}>"

    def __str__(self) -> str:
        self._refuse("cannot be turned into text")

    def __format__(self, spec: str) -> str:
        self._refuse("cannot be formatted")

    def __bool__(self) -> bool:
        self._refuse("cannot be tested as true or false")

    def __len__(self) -> int:
        self._refuse("has no length")

    def __iter__(self) -> Any:
        self._refuse("cannot be iterated")

    def __contains__(self, item: Any) -> bool:
        self._refuse("cannot be searched ('in')")

    def __getitem__(self, key: Any) -> Any:
        self._refuse("cannot be indexed or sliced")

    def __hash__(self) -> int:
        self._refuse("cannot be used as a key")

    def __eq__(self, other: object) -> bool:
        self._refuse("cannot be compared")

    def __ne__(self, other: object) -> bool:
        self._refuse("cannot be compared")

    def __lt__(self, other: object) -> bool:
        self._refuse("cannot be compared")

    __le__ = __gt__ = __ge__ = __lt__

    def __add__(self, other: object) -> Any:
        self._refuse("cannot be joined to other text; write 'Bearer {{ secrets.NAME }}'")

    __radd__ = __add__

    def __mul__(self, other: object) -> Any:
        self._refuse("cannot be used in arithmetic")

    __rmul__ = __mod__ = __rmod__ = __sub__ = __rsub__ = __truediv__ = __rtruediv__ = __mul__
    __floordiv__ = __rfloordiv__ = __pow__ = __rpow__ = __mul__

    def __neg__(self) -> Any:
        self._refuse("cannot be used in arithmetic")

    __pos__ = __abs__ = __invert__ = __int__ = __float__ = __index__ = __neg__

    def __reduce_ex__(self, protocol: Any) -> Any:
        self._refuse("cannot be copied")

    def __copy__(self) -> Any:
        self._refuse("cannot be copied")

    def __deepcopy__(self, memo: Any) -> Any:
        self._refuse("cannot be copied")


class SecretSlots:
    """The secrets one render resolved, and the placeholders standing for them in its output."""

    __slots__ = ("_names", "_pattern", "_prefix", "_values", "emitted")

    def __init__(self) -> None:
        nonce = random_tokens.token_hex(12)
        self._prefix = f"\x1e@secret-{nonce}-"
        # Compiled on first use: most renders print no secret and never need it.
        self._pattern: re.Pattern[str] | None = None
        self._names: list[str] = []
        self._values: list[str] = []
        #: How many placeholders the render has printed so far.
        self.emitted = 0

    def opaque(self, name: str, value: str) -> SecretValue:
        """The template's handle on the resolved secret ``name``."""
        if name in self._names:
            slot = self._names.index(name)
        else:
            slot = len(self._names)
            self._names.append(name)
            self._values.append(value)
        return SecretValue(name, slot, self)

    def placeholder(self, value: SecretValue) -> str:
        """What printing ``value`` writes into the output (counted, so none may go missing)."""
        if value._owner is not self:
            refuse_secret(value._name, "belongs to another render")
        self.emitted += 1
        return f"{self._prefix}{value._slot}@\x1e"

    def reveal(self, value: SecretValue) -> str:
        """The secret's text for a value that is the whole input (``"{{ secrets.X }}"``)."""
        if value._owner is not self:
            refuse_secret(value._name, "belongs to another render")
        return self._values[value._slot]

    def substitute(self, text: str, emitted_before: int) -> str:
        """``text`` with every placeholder replaced by its secret's value.

        Every placeholder printed since ``emitted_before`` must be in ``text`` exactly as it
        was printed: one that was transformed, repeated or dropped means the template did
        something with a secret other than placing it whole, and the render is refused.
        """
        expected = self.emitted - emitted_before
        if expected == 0 and self._prefix not in text:
            return text
        found = 0

        def value_of(match: re.Match[str]) -> str:
            nonlocal found
            found += 1
            slot = int(match.group(1))
            if slot >= len(self._values):
                raise TemplateViolation(f"{HOW_TO_USE}; a secret was altered", kind="secret")
            return self._values[slot]

        if self._pattern is None:
            self._pattern = re.compile(re.escape(self._prefix) + r"(\d+)@\x1e")
        result = self._pattern.sub(value_of, text)
        if found != expected or self._prefix in result:
            raise TemplateViolation(
                f"{HOW_TO_USE}; a secret printed inside a macro, a {{% set %}} block, a "
                "{% filter %} block or a call block was transformed, repeated or dropped",
                kind="secret",
            )
        return result
