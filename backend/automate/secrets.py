"""Public API for secrets: resolve references at run time, redact values everywhere else.

>>> from automate.secrets import resolve, redact
>>> token = resolve({"$secret": "SLACK_TOKEN"})  # AUTOMATE_SLACK_TOKEN with the env backend
>>> token = resolve("$secret:SLACK_TOKEN", tenant="acme")  # one tenant's secret
>>> redact({"channel": "#ops", "token": token})
{'channel': '#ops', 'token': '********'}

The implementation lives in ``automate.governance``; see docs/reference/secrets.md.
"""

from __future__ import annotations

from automate.governance.exceptions import (
    InvalidSecretRefError,
    SecretNotFoundError,
    SecretNotGrantedError,
    SecretsConfigurationError,
    SecretTenantRequiredError,
)
from automate.governance.redaction import (
    MASK,
    SecretMasker,
    derived_spellings,
    is_sensitive_key,
    redact,
    redact_text,
    register_secret_value,
    secret_masker,
)
from automate.governance.secrets import (
    ENTRY_POINT_GROUP,
    EnvSecretsBackend,
    SecretsBackend,
    collect_secret_refs,
    get_backend,
    is_secret_ref,
    resolve,
    resolve_secret_refs,
    secret_names,
    secret_ref_name,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "MASK",
    "EnvSecretsBackend",
    "InvalidSecretRefError",
    "SecretMasker",
    "SecretNotFoundError",
    "SecretNotGrantedError",
    "SecretTenantRequiredError",
    "SecretsBackend",
    "SecretsConfigurationError",
    "collect_secret_refs",
    "derived_spellings",
    "get_backend",
    "is_secret_ref",
    "is_sensitive_key",
    "redact",
    "redact_text",
    "register_secret_value",
    "resolve",
    "resolve_secret_refs",
    "secret_masker",
    "secret_names",
    "secret_ref_name",
]
