"""Public API for outbound-request policy: may the product call this URL?

>>> from automate.policy import check_url, PolicyViolation
>>> check_url("https://hooks.slack.com/services/T0/B0/x").addresses  # doctest: +SKIP
('54.192.0.1', ...)
>>> check_url("http://169.254.169.254/latest/meta-data/")
Traceback (most recent call last):
...
automate.governance.policy.PolicyViolation: 169.254.169.254 is a cloud metadata address ...

Every outbound HTTP request of Django Automate goes through
``automate.governance.http`` (``build_client``/``safe_request``), which calls these
checks on every request and redirect and connects to the address that was checked. The
implementation lives in ``automate.governance.policy``; see docs/reference/policy.md.
"""

from __future__ import annotations

from automate.governance.policy import (
    ALLOWED_SCHEMES,
    METADATA_ADDRESSES,
    METADATA_HOSTNAMES,
    AddressBlock,
    HostResolutionError,
    ParsedTarget,
    PolicyViolation,
    blocked_address_reason,
    check_host,
    check_url,
    host_allowlisted,
    normalise_host,
)

__all__ = [
    "ALLOWED_SCHEMES",
    "METADATA_ADDRESSES",
    "METADATA_HOSTNAMES",
    "AddressBlock",
    "HostResolutionError",
    "ParsedTarget",
    "PolicyViolation",
    "blocked_address_reason",
    "check_host",
    "check_url",
    "host_allowlisted",
    "normalise_host",
]
