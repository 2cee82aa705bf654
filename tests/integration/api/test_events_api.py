import pytest

from automate.events.models import Event
from tests.factories import make_tenant, make_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/events/"


def error_shape(response):
    body = response.json()
    assert set(body) == {"code", "message", "details", "trace_id"}
    assert len(body["trace_id"]) == 32
    return body


@pytest.fixture
def api_client(client):
    client.force_login(make_user(perms=["automate.add_event"]))
    return client


def test_post_event_creates_it(api_client):
    response = api_client.post(
        URL,
        {
            "type": "invoice.paid",
            "payload": {"amount": 1200},
            "source": "stripe",
            "dedupe_key": "e1",
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["created"] is True
    assert Event.objects.get(pk=body["id"]).payload == {"amount": 1200}

    again = api_client.post(
        URL,
        {"type": "invoice.paid", "payload": {}, "dedupe_key": "e1"},
        content_type="application/json",
    )
    assert again.status_code == 200
    assert again.json() == {**body, "created": False}


def test_traceparent_header_is_honoured(api_client):
    response = api_client.post(
        URL,
        {"type": "x", "payload": {}},
        content_type="application/json",
        headers={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    )
    assert response.json()["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        # The API's serializer names the field (the engine's record_event: invalid_event).
        ('{"type": "x", "payload": [1]}', "invalid_request"),
        ('{"type": "bad type", "payload": {}}', "invalid_event"),
        ('{"payload": {}}', "invalid_request"),
        ("{not json", "malformed_request"),
    ],
)
def test_bad_input_gets_a_400_in_the_error_shape_and_writes_nothing(api_client, body, code):
    response = api_client.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert error_shape(response)["code"] == code
    assert Event.objects.count() == 0


def test_anonymous_is_refused(client):
    response = client.post(URL, {"type": "x", "payload": {}}, content_type="application/json")
    assert response.status_code in (401, 403)
    assert error_shape(response)["code"] in ("not_authenticated", "authentication_failed")
    assert Event.objects.count() == 0


def test_user_without_permission_is_refused(client):
    client.force_login(make_user())
    response = client.post(URL, {"type": "x", "payload": {}}, content_type="application/json")
    assert response.status_code == 403
    assert error_shape(response)["code"] == "permission_denied"


def test_tenant_must_be_one_of_the_users(client):
    make_tenant("acme")
    mine = make_tenant("mine")
    user = make_user(perms=["automate.add_event"])
    mine.members.add(user)
    client.force_login(user)
    refused = client.post(
        URL, {"type": "x", "payload": {}, "tenant": "acme"}, content_type="application/json"
    )
    assert refused.status_code == 404
    assert error_shape(refused)["code"] == "resource_not_found"
    ok = client.post(URL, {"type": "x", "payload": {}}, content_type="application/json")
    assert ok.status_code == 201
    assert Event.objects.get().tenant == mine


def test_health(client):
    assert client.get("/api/v1/health/").json() == {"status": "ok"}


def test_pathological_json_is_a_400_not_a_500(api_client):
    deep = '{"type": "x", "payload": ' + "[" * 50_000 + "]" * 50_000 + "}"
    response = api_client.post(URL, deep, content_type="application/json")
    assert response.status_code == 400
    assert error_shape(response)["code"] == "malformed_request"
    nul = api_client.post(
        URL, {"type": "x", "payload": {"note": "a\x00b"}}, content_type="application/json"
    )
    assert nul.status_code == 400
    assert error_shape(nul)["code"] == "invalid_text"
    assert Event.objects.count() == 0


def test_validation_messages_are_not_masked_for_fields_with_secret_sounding_names(api_client):
    response = api_client.post(
        URL, {"type": "x", "payload": {}, "dedupe_key": "k" * 300}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "255" in str(error_shape(response)["details"]["fields"]["dedupe_key"])
