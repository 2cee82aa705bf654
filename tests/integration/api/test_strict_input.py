"""Bodies are taken as they are: an unknown key is a 400 naming it, a value of the wrong
JSON type is a 400 (not converted), boolean query parameters are true/false/1/0; and
nothing is written when refused."""

from __future__ import annotations

import pytest

from automate.events.models import Event
from automate.governance.models import StoredSecret
from automate.workflows.models import Workflow
from tests.factories import make_tenant
from tests.integration.api.conftest import GRAPH
from tests.integration.api.helpers import assert_error, token_client

pytestmark = pytest.mark.django_db

TRIGGER = {"event_type": "invoice.paid"}


@pytest.fixture
def client(db, monkeypatch, settings):
    from tests.integration.api.conftest import ADMIN_PERMS
    from tests.integration.api.helpers import ALL_PERMS
    from tests.integration.governance.helpers import new_key, use_db_backend

    use_db_backend(monkeypatch, settings, new_key())
    return token_client(make_tenant("acme"), perms=[*ALL_PERMS, *ADMIN_PERMS])


def _workflow(client):
    made = client.post(
        "/api/v1/workflows/", {"name": "Paid", "trigger_spec": TRIGGER, "graph": GRAPH}
    )
    assert made.status_code == 201, made.content
    return made.json()


def _fields(response):
    body = assert_error(response, 400, "invalid_request")
    return body["details"]["fields"]


# (url, a valid body): every create/action body the API reads with a serializer.
BODIES = [
    ("/api/v1/events/", {"type": "invoice.paid", "payload": {}}),
    ("/api/v1/secrets/", {"name": "NEW_KEY", "value": "a-value-123456"}),
    ("/api/v1/tokens/", {"name": "ci", "scopes": ["read"]}),
    ("/api/v1/workflows/", {"name": "New", "trigger_spec": TRIGGER, "graph": GRAPH}),
]


def _rows():
    return (Event.objects.count(), StoredSecret.objects.count(), Workflow.objects.count())


@pytest.mark.parametrize(("url", "body"), BODIES, ids=[u for u, _ in BODIES])
@pytest.mark.parametrize("extra", ["extra", "Type", "payload_", "__proto__"])
def test_an_unknown_key_is_a_400_naming_it(client, url, body, extra):
    before = _rows()
    fields = _fields(client.post(url, {**body, extra: 1}))
    assert extra in fields
    assert _rows() == before


@pytest.mark.parametrize(
    ("url", "body", "field", "value"),
    [
        ("/api/v1/events/", {"payload": {}}, "type", 123),
        ("/api/v1/events/", {"payload": {}}, "type", True),
        ("/api/v1/events/", {"payload": {}}, "type", ["invoice.paid"]),
        ("/api/v1/events/", {"type": "x", "payload": {}}, "dedupe_key", 7),
        ("/api/v1/secrets/", {"name": "K"}, "value", 123456789),
        ("/api/v1/secrets/", {"value": "v-123456"}, "name", 5),
        ("/api/v1/tokens/", {"name": "ci"}, "scopes", "read"),
        ("/api/v1/tokens/", {"name": "ci"}, "scopes", [1]),
        ("/api/v1/tokens/", {"scopes": ["read"]}, "name", 12),
        ("/api/v1/workflows/", {"trigger_spec": TRIGGER, "graph": GRAPH}, "name", 1.5),
    ],
)
def test_a_value_of_the_wrong_type_is_a_400_not_converted(client, url, body, field, value):
    before = _rows()
    fields = _fields(client.post(url, {**body, field: value}))
    assert field in fields
    assert _rows() == before


@pytest.mark.parametrize("value", ["1", 1.0, True])
def test_a_rollback_version_must_be_a_whole_number(client, value):
    made = _workflow(client)
    url = f"/api/v1/workflows/{made['id']}/"
    assert client.post(f"{url}publish/", {}).status_code == 201
    assert "version" in _fields(client.post(f"{url}rollback/", {"version": value}))


def test_publish_notes_must_be_text_and_nothing_else(client):
    made = _workflow(client)
    url = f"/api/v1/workflows/{made['id']}/publish/"
    assert "notes" in _fields(client.post(url, {"notes": 5}))
    assert "force" in _fields(client.post(url, {"force": True}))
    assert Workflow.objects.get(pk=made["id"]).live_version is None


@pytest.mark.parametrize("extra", [{"unknown": 1}, {"Name": "x"}, {"draft_graph": {}}])
@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_draft_save_with_an_unknown_key_is_refused_and_keeps_the_revision(client, method, extra):
    made = _workflow(client)
    url = f"/api/v1/workflows/{made['id']}/"
    response = getattr(client, method)(url, {"revision": 0, "name": "Renamed", **extra})
    fields = _fields(response)
    assert next(iter(extra)) in fields
    workflow = Workflow.objects.get(pk=made["id"])
    assert workflow.draft_revision == 0
    assert workflow.name == "Paid"


def test_a_draft_save_that_names_no_part_is_refused(client):
    made = _workflow(client)
    response = client.patch(f"/api/v1/workflows/{made['id']}/", {"revision": 0})
    assert "body" in _fields(response)
    assert Workflow.objects.get(pk=made["id"]).draft_revision == 0


@pytest.mark.parametrize("value", ["yes", "no", "on", "null", "True1", "2"])
def test_a_boolean_query_parameter_must_be_true_false_1_or_0(client, value):
    fields = _fields(client.get("/api/v1/workflows/", {"archived": value}))
    assert "archived" in fields
    before = Workflow.objects.count()
    imported = client.post(f"/api/v1/workflows/import/?publish={value}", {})
    assert "publish" in _fields(imported)
    assert Workflow.objects.count() == before


@pytest.mark.parametrize(
    ("value", "archived"),
    [("true", True), ("1", True), ("false", False), ("0", False), ("", False)],
)
def test_boolean_query_parameters_that_are_accepted(client, value, archived):
    made = _workflow(client)
    assert client.delete(f"/api/v1/workflows/{made['id']}/").status_code == 204
    listed = client.get("/api/v1/workflows/", {"archived": value}).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert (made["id"] in [row["id"] for row in rows]) is archived


@pytest.mark.parametrize("payload", [None, [], [1], "text", 5, True])
def test_an_event_payload_must_be_an_object_as_the_schema_says(client, payload):
    before = _rows()
    fields = _fields(client.post("/api/v1/events/", {"type": "x", "payload": payload}))
    assert "payload" in fields
    assert _rows() == before
    schema = client.get("/api/v1/schema/").json()["components"]["schemas"]
    assert schema["EventInRequest"]["properties"]["payload"]["type"] == "object"


@pytest.mark.parametrize("conversation", [[0], [None], ["ok", 1], "hello", [["nested"]]])
def test_a_copilot_conversation_is_a_list_of_strings(client, conversation):
    made = _workflow(client)
    for url in ("/api/v1/copilot/drafts/", f"/api/v1/workflows/{made['id']}/copilot/"):
        body = {"prompt": "log every paid invoice", "conversation": conversation}
        assert "conversation" in _fields(client.post(url, body))
