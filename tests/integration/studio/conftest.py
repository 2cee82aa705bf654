"""Fixtures shared by the studio's copilot tests."""

import pytest
from django.test import Client

from tests.factories import make_studio_user, make_tenant


@pytest.fixture
def author():
    """A client logged in as ``ed``, a studio user in tenant ``acme`` (``client.tenant``)."""
    tenant = make_tenant("acme")
    user = make_studio_user("ed")
    tenant.members.add(user)
    client = Client()
    client.force_login(user)
    client.tenant = tenant
    return client
