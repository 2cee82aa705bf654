"""The ``email`` connector: send an email through the project's Django email backend.

Whatever mailer the site configures (``MAILERS`` on Django 6.1, ``EMAIL_BACKEND`` on 5.2:
SMTP, a provider's backend, the console in development, ``locmem`` in tests) sends it. The
HTML body is written by workflow authors, so it is sanitised to
``ALLOWED_TAGS``/``ALLOWED_ATTRIBUTES`` before it leaves.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
from typing import Any

import bleach
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.core.validators import validate_email

from ..base import ActionSpec, ConnectorAdapter, ExecutionContext
from ..exceptions import ConnectorError, ConnectorInputError

__all__ = ["ALLOWED_ATTRIBUTES", "ALLOWED_PROTOCOLS", "ALLOWED_TAGS", "EmailConnector"]

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "div", "em",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s",
        "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
        "thead", "tr", "u", "ul",
    }
)  # fmt: skip
"""Tags kept in the HTML body; any other tag is removed (its text stays)."""

ALLOWED_ATTRIBUTES: dict[str, list[str]] = {
    "a": ["href", "title"],
    "abbr": ["title"],
    "img": ["src", "alt", "title", "width", "height"],
    "table": ["width", "border", "cellpadding", "cellspacing", "align"],
    "td": ["colspan", "rowspan", "align", "valign", "width"],
    "th": ["colspan", "rowspan", "align", "valign", "width", "scope"],
}
"""Attributes kept per tag; every other attribute (``onclick``, ``style``…) is removed."""

ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
"""URL schemes kept in ``href``/``src``: no ``javascript:``, no ``data:``."""

# bleach removes a disallowed tag but keeps its text, which for these is code, not prose.
# Only cosmetic: bleach still sanitises whatever this pattern misses.
_CODE_ELEMENTS = re.compile(
    r"<(script|style|template|noscript|iframe|object)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL
)

_ADDRESS_LIST: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}},
    ]
}


def sanitize_html(html: str) -> str:
    """``html`` with only the allowed tags, attributes and URL schemes left."""
    return bleach.clean(  # type: ignore[no-any-return]
        _CODE_ELEMENTS.sub("", html),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=ALLOWED_PROTOCOLS,
        strip=True,
        strip_comments=True,
    )


def _addresses(value: str | list[str] | None, field: str) -> list[str]:
    """A list of checked addresses from a list or a comma-separated string."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value
    addresses = [item.strip() for item in items if item.strip()]
    problems = []
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            problems.append({"path": f"inputs.{field}", "message": f"{address!r} is not an email"})
    if problems:
        listed = "; ".join(f"{p['path']}: {p['message']}" for p in problems)
        raise ConnectorInputError(f"Invalid inputs for email.send: {listed}", errors=problems)
    return addresses


def _message_id(context: ExecutionContext) -> str | None:
    # The same on every attempt of a step, so a retry after a lost SMTP response sends a
    # message that receiving systems can recognise as a duplicate.
    if not context.run_id:
        return None
    digest = hashlib.sha256(context.idempotency_key.encode()).hexdigest()[:32]
    return f"<automate.{digest}@{DNS_NAME}>"


def _is_permanent(exc: smtplib.SMTPException) -> bool:
    # 5xx replies (unknown mailbox, sender rejected) fail the same way on every attempt.
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600
    return False


class EmailConnector(ConnectorAdapter):
    """``email.send``: one email, plain text with an optional sanitised HTML part.

    The output is ``{"sent": 1, "to": [...]}``. Connection problems and temporary SMTP
    replies fail the step as retryable; permanent (5xx) SMTP replies do not.
    """

    code = "email"
    name = "Email"
    description = "Send an email through the site's email backend."
    icon = "mail"
    actions = {
        "send": ActionSpec(
            label="Send an email",
            description="Send a plain-text email, optionally with an HTML version.",
            inputs={
                "to": {
                    **_ADDRESS_LIST,
                    "required": True,
                    "description": "Recipients: a list, or one string (comma-separated).",
                },
                "subject": {"type": "string", "required": True},
                "text": {"type": "string", "required": True, "description": "Plain-text body."},
                "html": {
                    "type": "string",
                    "description": "HTML body; unsafe tags and attributes are removed.",
                },
                "cc": {**_ADDRESS_LIST, "description": "Copy recipients."},
                "bcc": {**_ADDRESS_LIST, "description": "Blind copy recipients."},
                "from_email": {
                    "type": "string",
                    "description": "Sender; the site's DEFAULT_FROM_EMAIL when empty.",
                },
                "reply_to": {**_ADDRESS_LIST, "description": "Reply-To addresses."},
            },
            outputs={
                "sent": {"type": "integer"},
                "to": {"type": "array", "items": {"type": "string"}},
            },
            # A retry after a lost SMTP reply can deliver a second copy.
            idempotent=False,
        )
    }

    def execute(
        self, action: str, params: dict[str, Any], context: ExecutionContext
    ) -> dict[str, Any]:
        """Build and send the message with ``EmailMultiAlternatives``."""
        to = _addresses(params["to"], "to")
        if not to:
            raise ConnectorInputError(
                "Invalid inputs for email.send: inputs.to: no recipient",
                errors=[{"path": "inputs.to", "message": "no recipient"}],
            )
        from_email = params.get("from_email") or settings.DEFAULT_FROM_EMAIL
        headers = {}
        message_id = _message_id(context)
        if message_id:
            headers["Message-ID"] = message_id
        message = EmailMultiAlternatives(
            subject=params["subject"],
            body=params["text"],
            from_email=from_email,
            to=to,
            cc=_addresses(params.get("cc"), "cc"),
            bcc=_addresses(params.get("bcc"), "bcc"),
            reply_to=_addresses(params.get("reply_to"), "reply_to"),
            headers=headers,
        )
        if params.get("html"):
            message.attach_alternative(sanitize_html(params["html"]), "text/html")
        try:
            sent = message.send()
        # A header holding a newline: Django 5.2 raises BadHeaderError, a ValueError
        # subclass that Django 6.1 deprecates in favour of a plain ValueError.
        except ValueError as exc:
            raise ConnectorError(
                f"The email has an invalid header: {exc}", code="invalid_email"
            ) from exc
        except smtplib.SMTPException as exc:
            raise ConnectorError(
                f"The mail server refused the email: {exc}",
                retryable=not _is_permanent(exc),
                code="email_rejected" if _is_permanent(exc) else "email_unavailable",
            ) from exc
        except OSError as exc:  # connection refused, DNS failure, timeout
            raise ConnectorError(
                f"The mail server could not be reached: {exc}",
                retryable=True,
                code="email_unavailable",
            ) from exc
        return {"sent": sent, "to": to}
