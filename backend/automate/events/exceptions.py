from automate.exceptions import AutomateError


class InvalidEventError(AutomateError):
    """An event that cannot be accepted (payload not a JSON object, bad type, too large)."""

    code = "invalid_event"
    http_status = 400
