"""Helpers shared by the stored-secrets tests (plain functions; fixtures stay per module)."""

from __future__ import annotations

import secrets as pysecrets

from cryptography.fernet import Fernet
from django.apps import apps
from django.contrib.sessions.models import Session
from django.core import serializers

from automate.governance.secret_store import KEYS_VARIABLE


def new_key() -> str:
    return Fernet.generate_key().decode()


def canary_value(label: str = "value") -> str:
    # Letters, digits, "-" and "_" only: JSON serialization leaves them as they are, so a
    # plain substring search of a dump finds them if they were stored anywhere.
    return f"canary-{label}-{pysecrets.token_urlsafe(24)}"


def use_db_backend(monkeypatch, settings, keys: str) -> None:
    monkeypatch.setenv(KEYS_VARIABLE, keys)
    settings.DJANGO_AUTOMATE = {**settings.DJANGO_AUTOMATE, "SECRETS": {"backend": "db"}}


def dump_every_row() -> str:
    """Every row of every installed model as JSON, plus decoded session data."""
    parts = [
        serializers.serialize("json", model._base_manager.all())
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    ]
    parts.extend(repr(session.get_decoded()) for session in Session.objects.all())
    return "\n".join(parts)
