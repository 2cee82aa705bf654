"""The ``slack`` connector: post a message with the Slack Web API (``chat.postMessage``).

``POST <base_url>/chat.postMessage`` with ``Authorization: Bearer <bot token>`` and a JSON
body. Slack answers HTTP 200 with ``{"ok": true, "channel": …, "ts": …}`` or
``{"ok": false, "error": "channel_not_found"}``, and HTTP 429 with ``Retry-After`` when
rate limited. The base URL is ``https://slack.com/api`` unless
``DJANGO_AUTOMATE["CONNECTOR_OPTIONS"]["slack"]["base_url"]`` says otherwise (a proxy, a
test double).

Slack has no idempotency key for ``chat.postMessage``, so a retry after Slack accepted a
message posts it twice. The step is therefore retried only when Slack certainly did not
accept the message: HTTP 429, 5xx and Slack's own transient errors (``ratelimited``,
``internal_error``, ``service_unavailable``…), and connections that failed before the
request was sent. A timeout or a dropped connection *after* sending fails the step
without a retry (``slack_delivery_unknown``): the message may or may not be in the
channel.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from automate.governance.http import parse_retry_after, safe_request
from automate.governance.redaction import redact_text

from ..base import ActionSpec, ConnectorAdapter, ExecutionContext
from ..exceptions import ConnectorError
from .http import step_timeout
from .slack_events import SlackEvents

__all__ = [
    "DEFAULT_BASE_URL",
    "ERROR_HINTS",
    "RETRYABLE_ERRORS",
    "SlackConnector",
    "base_url",
]

DEFAULT_BASE_URL = "https://slack.com/api"

RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
"""Slack ``error`` values worth another attempt; every other error fails the step."""

ERROR_HINTS: dict[str, str] = {
    "invalid_auth": "the token is not valid",
    "not_authed": "no token was sent",
    "token_revoked": "the token has been revoked",
    "account_inactive": "the token belongs to a deleted user or workspace",
    "missing_scope": "the token lacks the chat:write scope",
    "channel_not_found": "no such channel, or the bot cannot see it",
    "not_in_channel": "the bot is not a member of the channel: invite it first",
    "is_archived": "the channel is archived",
    "msg_too_long": "the text is too long",
    "no_text": "the message has no text",
    "invalid_blocks": "the blocks are not valid Block Kit",
    "ratelimited": "Slack is rate limiting this app",
}
"""What the common ``error`` values mean, added to the step's error message."""

_MAX_ERROR_NAME = 100


def base_url() -> str:
    """The Slack Web API base URL: ``CONNECTOR_OPTIONS.slack.base_url`` or the default."""
    user = getattr(settings, "DJANGO_AUTOMATE", {}) or {}
    options = user.get("CONNECTOR_OPTIONS", {}) or {}
    slack = options.get("slack", {}) or {}
    url = slack.get("base_url", DEFAULT_BASE_URL)
    return str(url).rstrip("/")


class SlackConnector(SlackEvents, ConnectorAdapter):
    """``slack.post_message``: post ``text`` (and optional Block Kit ``blocks``) to a channel.

    Needs a bot token (``xoxb-…``) with the ``chat:write`` scope, given as a secret
    reference. The output is ``{"ok": true, "channel": <channel id>, "ts": <message ts>}``;
    ``ts`` can be used as a later step's ``thread_ts`` to reply in a thread.

    Its ``events`` trigger (scheme ``slack``) receives the Events API: see ``SlackEvents``.
    """

    code = "slack"
    name = "Slack"
    description = "Post messages to Slack channels with a bot token."
    icon = "message-square"
    actions = {
        "post_message": ActionSpec(
            label="Post a message",
            description="Post a message to a channel (chat.postMessage).",
            inputs={
                "token": {
                    "type": "string",
                    "minLength": 1,
                    "format": "secret",
                    "required": True,
                    "description": "A bot token (xoxb-…) with the chat:write scope.",
                },
                "channel": {
                    "type": "string",
                    "minLength": 1,
                    "required": True,
                    "description": "Channel id (C0123…) or name (#ops).",
                },
                "text": {
                    "type": "string",
                    "required": True,
                    "description": "The message (also the notification text with blocks).",
                },
                "blocks": {
                    "type": "array",
                    "items": {"type": "object"},
                    "description": "Block Kit blocks.",
                },
                "thread_ts": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Reply in the thread of this message ts.",
                },
            },
            outputs={
                "ok": {"type": "boolean"},
                "channel": {"type": "string"},
                "ts": {"type": "string"},
            },
            idempotent=False,
        )
    }

    def execute(
        self, action: str, params: dict[str, Any], context: ExecutionContext
    ) -> dict[str, Any]:
        """Call ``chat.postMessage``; map Slack's answer to an output or a ConnectorError."""
        message: dict[str, Any] = {"channel": params["channel"], "text": params["text"]}
        for optional in ("blocks", "thread_ts"):
            if optional in params:
                message[optional] = params[optional]
        try:
            response = safe_request(
                "POST",
                f"{base_url()}/chat.postMessage",
                headers={
                    "Authorization": f"Bearer {params['token']}",
                    "Content-Type": "application/json; charset=utf-8",
                    "traceparent": context.traceparent(),
                },
                content=json.dumps(message, separators=(",", ":")).encode("utf-8"),
                timeout=step_timeout(context),
                follow_redirects=False,
                raise_for_status=False,
            )
        except ConnectorError as exc:
            if exc.retryable and exc.details.get("request_sent"):
                raise ConnectorError(
                    f"Slack did not answer ({exc.message}); the message may have been posted, "
                    "so the step is not retried (a retry could post it twice).",
                    retryable=False,
                    code="slack_delivery_unknown",
                    details={"cause": exc.code},
                ) from exc
            raise
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            raise ConnectorError(
                "Slack rate limited chat.postMessage (HTTP 429).",
                retryable=True,
                code="slack_rate_limited",
                details={"status": status, "error": "ratelimited"},
                retry_after=retry_after,
            )
        if status >= 500:
            raise ConnectorError(
                f"Slack is unavailable (HTTP {status}).",
                retryable=True,
                code="slack_unavailable",
                details={"status": status},
                retry_after=retry_after,
            )
        data = _json_object(response.content)
        if status != 200 or data is None:
            raise ConnectorError(
                f"Slack answered chat.postMessage with HTTP {status} and no Slack response.",
                code="slack_bad_response",
                details={"status": status},
            )
        if data.get("ok") is True:
            return {
                "ok": True,
                "channel": str(data.get("channel", "")),
                "ts": str(data.get("ts", "")),
            }
        error = redact_text(str(data.get("error") or "unknown_error"))[:_MAX_ERROR_NAME]
        hint = ERROR_HINTS.get(error)
        retryable = error in RETRYABLE_ERRORS
        raise ConnectorError(
            f"Slack refused chat.postMessage: {error}" + (f" ({hint})." if hint else "."),
            retryable=retryable,
            code="slack_api_error",
            details={"status": status, "error": error},
            retry_after=retry_after if retryable else None,
        )


def _json_object(content: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(content)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
