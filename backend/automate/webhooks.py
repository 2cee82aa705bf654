"""Inbound webhook signatures (stable public surface).

>>> from automate.webhooks import verify_signature
>>> verify_signature("github", secret, request.headers, request.body)
"""

from automate.triggers.signatures import (
    DEFAULT_TOLERANCE_SECONDS,
    GENERIC_DELIVERY_ID_HEADER,
    GENERIC_SIGNATURE_HEADER,
    SCHEMES,
    UnknownSchemeError,
    generic_signature_header,
    generic_signing_string,
    github_signature_header,
    slack_signature_headers,
    slack_signing_string,
    stripe_signature_header,
    verify_signature,
)

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "GENERIC_DELIVERY_ID_HEADER",
    "GENERIC_SIGNATURE_HEADER",
    "SCHEMES",
    "UnknownSchemeError",
    "generic_signature_header",
    "generic_signing_string",
    "github_signature_header",
    "slack_signature_headers",
    "slack_signing_string",
    "stripe_signature_header",
    "verify_signature",
]
