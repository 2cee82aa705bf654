"""Inbound webhook signatures (stable public surface).

>>> from automate.webhooks import verify_signature
>>> verify_signature("github", secret, request.headers, request.body)
"""

from automate.triggers.signatures import (
    SCHEMES,
    UnknownSchemeError,
    github_signature_header,
    stripe_signature_header,
    verify_signature,
)

__all__ = [
    "SCHEMES",
    "UnknownSchemeError",
    "github_signature_header",
    "stripe_signature_header",
    "verify_signature",
]
