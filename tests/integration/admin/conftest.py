"""Fixtures of the admin base class tests (tests/adminkit: the test model and site)."""

import pytest

from tests.factories import make_user
from tests.integration.admin.kit import World


@pytest.fixture
def kit(settings, db):
    settings.ROOT_URLCONF = "tests.adminkit.urls"
    return World()


@pytest.fixture
def superuser_client(client, kit):
    user = make_user(superuser=True)
    client.force_login(user)
    return client
