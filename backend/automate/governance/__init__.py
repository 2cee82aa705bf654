"""Governance: secret references and their backends, redaction of secrets, policy, audit.

This package ``__init__`` imports nothing, so ``automate.governance.redaction`` (pure
Python) can be imported without Django. The public secrets API is ``automate.secrets``.
"""
