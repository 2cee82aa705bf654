"""The state one docs page runs in: a database, fake outside services, a scratch directory."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.docs.services import FakeServices

#: Secrets the examples reference, as the env backend reads them.
SECRETS = {
    "SLACK_TOKEN": "xoxb-docs-example-token",
    "STRIPE_WEBHOOK_SECRET": "whsec_docsexamplesecret000000",
    "OPENAI_API_KEY": "sk-docs-example-key-0000000000000000",
    "ERP_API_KEY": "erp-docs-example-key",
    "DB_PASSWORD": "docs-db-password",
    "ORDERS_PASSWORD": "docs-orders-password",
    "ORDERS_TOKEN": "docs-orders-token",
    "HOOK_TOKEN": "docs-hook-token",
}


@dataclass
class DocsPage:
    """What a page's hidden set-up blocks reach as ``docs_page``."""

    tmp: Path
    env: pytest.MonkeyPatch
    services: FakeServices
    modules: list[str] = field(default_factory=list)
    overrides: list[Any] = field(default_factory=list)

    def configure(self, **automate: Any) -> None:
        """Put ``DJANGO_AUTOMATE`` keys in force for the rest of the page."""
        from django.conf import settings
        from django.test import override_settings

        override = override_settings(DJANGO_AUTOMATE={**settings.DJANGO_AUTOMATE, **automate})
        override.enable()
        self.overrides.append(override)

    def resolve_locally(self, *hosts: str, address: str = "54.192.0.10") -> None:
        """Answer DNS for ``hosts`` (the examples' public names) without a network."""
        import socket

        real = socket.getaddrinfo

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if host in hosts:
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 443))]
            return real(host, *args, **kwargs)

        self.env.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(scope="session")
def docs_database(django_db_setup, django_db_blocker):
    """The test database. pytest-django creates it only for items that ask for ``db``
    or carry a ``django_db`` mark, which Sybil's items cannot (their database state is
    per page, not per item): create it here when no other test of the session did."""
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    test_name = connection.creation._get_test_db_name()
    if connection.settings_dict["NAME"] == test_name:
        yield
        return
    with django_db_blocker.unblock():
        config = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    yield
    with django_db_blocker.unblock():
        teardown_databases(config, verbosity=0)


@pytest.fixture(scope="module")
def docs_page(docs_database, django_db_blocker, tmp_path_factory):
    """Per page (Sybil document): the test database, open to every example of the page
    and flushed afterwards; Slack and the LLM provider served on 127.0.0.1."""
    from django.core.management import call_command
    from django.test import override_settings

    services = FakeServices()
    env = pytest.MonkeyPatch()
    for name, value in SECRETS.items():
        env.setenv(f"AUTOMATE_{name}", value)
    tmp = tmp_path_factory.mktemp("page")
    env.chdir(tmp)
    sys.path.insert(0, str(tmp))
    from django.conf import settings

    automate = {
        **settings.DJANGO_AUTOMATE,
        "POLICY": {"http_allowlist": ["127.0.0.1"]},
        "CONNECTOR_OPTIONS": {
            "slack": {"base_url": services.url + "/api"},
            "llm": {"base_url": services.url + "/v1"},
        },
    }
    page = DocsPage(tmp=tmp, env=env, services=services)
    from automate.connectors.registry import connector_registry

    codes = {adapter.code for adapter in connector_registry.all()}
    with django_db_blocker.unblock(), override_settings(DJANGO_AUTOMATE=automate):
        try:
            yield page
        finally:
            for override in reversed(page.overrides):
                override.disable()
            call_command("flush", interactive=False, verbosity=0)
            env.undo()
            sys.path.remove(str(tmp))
            for name in page.modules:
                parts = name.split(".")
                for end in range(len(parts), 0, -1):
                    sys.modules.pop(".".join(parts[:end]), None)
            for adapter in connector_registry.all():
                if adapter.code not in codes:
                    connector_registry.unregister(adapter.code)
            services.close()
