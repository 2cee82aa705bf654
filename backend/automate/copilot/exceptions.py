"""The copilot's errors; each maps to the API's one error shape."""

from __future__ import annotations

from automate.exceptions import AutomateError


class CopilotError(AutomateError):
    """The copilot could not answer; ``message`` says why in plain words."""

    code = "copilot_error"
    http_status = 400


class CopilotRequestError(CopilotError):
    """The request itself is wrong (empty or too long a prompt, a bad current draft)."""

    code = "invalid_request"
    http_status = 400


class CopilotRateLimitedError(CopilotError):
    """This user asked too often; ``details["retry_after"]`` is in seconds."""

    code = "copilot_rate_limited"
    http_status = 429


class CopilotUnavailableError(CopilotError):
    """The configured model could not be reached or answered with an error (timeout, 429,
    5xx, a refused URL); nothing was changed and the estimate was given back."""

    code = "copilot_unavailable"
    http_status = 502
    retryable = True


class CopilotRefusedError(CopilotError):
    """The model declined the request (its refusal is in ``details["refusal"]``)."""

    code = "copilot_refused"
    http_status = 422
