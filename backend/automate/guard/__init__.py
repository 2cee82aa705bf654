"""The input guard: every byte a user or a remote system sends goes through here.

Why a package of its own (and not ``automate.api``): the same checks protect the REST API,
the inbound webhooks, the studio's HTML/HTMX views and its websockets, and they are
also used on stored definitions. ``automate.guard.parse`` is pure Python (no Django): it
parses JSON text within limits of size, depth, number size and text validity, and checks
already-parsed values the same way. ``automate.guard.http`` is the Django side: the
``guarded`` decorator every view wears (size of the body, every query parameter, every
form field) and the helpers views parse with (``json_body``, ``form_json``,
``query_int``, ``query_text``). A test walks the URL conf and fails for any view that
does not wear ``guarded``, and sends the same hostile inputs to every endpoint
(tests/integration/security/test_input_guard.py).

Every refusal is an :class:`InputRejected` (an ``AutomateError``): 413 for a body that
is too large, 400 otherwise, answered in the one error shape (or, for studio pages, as
the page's own error message), before anything is written.
"""

from automate.guard.parse import (
    InputRejected,
    JsonLimits,
    bad_text_path,
    check_json_value,
    check_text,
    load_json,
)

__all__ = [
    "InputRejected",
    "JsonLimits",
    "bad_text_path",
    "check_json_value",
    "check_text",
    "load_json",
]
