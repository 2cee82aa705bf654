"""HTTP Basic on the API is throttled per address *before* any password is hashed."""

import base64
import json

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from rest_framework import authentication

from automate.events.models import Event
from tests.factories import login_for, make_tenant, make_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/events/"
PASSWORD = "pw-for-tests-only"


def basic(username, password):
    # ``username`` is the user's name; the login is its email under an email user model.
    login = login_for(username)
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


def limit(n):
    policy = {**settings.DJANGO_AUTOMATE.get("POLICY", {}), "api_basic_auth_per_minute": n}
    return override_settings(DJANGO_AUTOMATE={**settings.DJANGO_AUTOMATE, "POLICY": policy})


@pytest.fixture(autouse=True)
def basic_on(settings):
    """HTTP Basic is off by default (DJANGO_API_BASIC_AUTH); these tests turn it on."""
    classes = settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]
    basic = "automate.api.authentication.ThrottledBasicAuthentication"
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_AUTHENTICATION_CLASSES": [*[c for c in classes if c != basic], basic],
    }


@pytest.fixture
def hashes(monkeypatch):
    """Counts password checks (each one is a full hash in production)."""
    calls = []
    real = authentication.authenticate

    def counting(*args, **kwargs):
        calls.append(kwargs.get(get_user_model().USERNAME_FIELD))  # DRF names the field
        return real(*args, **kwargs)

    monkeypatch.setattr(authentication, "authenticate", counting)
    return calls


@pytest.fixture
def user():
    make_tenant("acme")
    return make_user("integration", perms=["automate.add_event"])


def post(client, authorization, address="203.0.113.9", n=0):
    return client.post(
        URL,
        json.dumps({"type": "x", "payload": {"n": n}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=authorization,
        REMOTE_ADDR=address,
    )


@pytest.mark.parametrize(
    "credentials",
    [("integration", PASSWORD), ("integration", "wrong"), ("nobody", "guess")],
)
def test_over_the_limit_is_a_429_and_no_password_is_hashed(user, hashes, credentials):
    client = Client()
    with limit(3):
        statuses = [post(client, basic(*credentials), n=i).status_code for i in range(6)]
        refused = post(client, basic(*credentials))
    assert statuses[3:] == [429, 429, 429]
    assert len(hashes) == 3  # the refused attempts never reached the password hasher
    body = refused.json()
    assert set(body) == {"code", "message", "details", "trace_id"}
    assert body["code"] == "rate_limited"
    assert "HTTP Basic" in body["message"]
    assert 1 <= int(refused["Retry-After"]) <= 61
    assert Event.objects.count() == (3 if credentials[1] == PASSWORD else 0)


def test_the_limit_is_per_address(user, hashes):
    client = Client()
    with limit(2):
        first = [post(client, basic("x", "y"), "198.51.100.1").status_code for _ in range(3)]
        other = post(client, basic("integration", PASSWORD), "198.51.100.2")
    assert first[-1] == 429
    assert other.status_code == 201


def test_sessions_are_not_counted(user, hashes):
    client = Client()
    with limit(1):
        basic_statuses = [
            post(client, basic("integration", PASSWORD), "192.0.2.7").status_code for _ in range(2)
        ]
        client.force_login(user)
        session_statuses = [
            client.post(
                URL,
                {"type": "x", "payload": {}},
                content_type="application/json",
                REMOTE_ADDR="192.0.2.7",
            ).status_code
            for _ in range(4)
        ]
    assert basic_statuses == [201, 429]
    assert session_statuses == [201, 201, 201, 201]
    assert hashes == [login_for("integration")]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (0, "must be at least 1, not 0"),
        (-1, "must be at least 1, not -1"),
        ("30", "must be int, not str"),
        (True, "must be int, not a bool"),
    ],
)
def test_the_setting_is_validated(value, problem):
    from automate import conf

    [message] = conf.validate({"POLICY": {"api_basic_auth_per_minute": value}})
    assert message == f"DJANGO_AUTOMATE['POLICY']['api_basic_auth_per_minute'] {problem}"
