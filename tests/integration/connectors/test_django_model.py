"""The django_model connector writes only allow-listed models, validated, idempotently."""

import threading

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import override_settings

from automate.connectors import ConnectorError, ConnectorInputError, ExecutionContext
from automate.connectors.builtins.django_model import DjangoModelConnector

pytestmark = pytest.mark.django_db

ALLOW_AUTH = override_settings(
    DJANGO_AUTOMATE={"CONNECTOR_OPTIONS": {"django_model": {"models": ["auth.Group", "auth.user"]}}}
)


@pytest.fixture
def ctx():
    return ExecutionContext(run_id="run-9", node_id="save_group", tenant="acme")


def run(action, params, ctx):
    return DjangoModelConnector().run(action, params, ctx)


@pytest.mark.parametrize(
    "settings_value",
    [
        {},
        {"CONNECTOR_OPTIONS": {"django_model": {"models": ["auth.User"]}}},
    ],
)
def test_models_not_on_the_allow_list_are_refused(settings_value, ctx):
    with override_settings(DJANGO_AUTOMATE=settings_value), pytest.raises(ConnectorError) as caught:
        run("create", {"model": "auth.Group", "fields": {"name": "Ops"}}, ctx)
    assert caught.value.code == "model_not_allowed"
    assert caught.value.retryable is False
    assert not Group.objects.exists()


@override_settings(
    DJANGO_AUTOMATE={"CONNECTOR_OPTIONS": {"django_model": {"models": ["crm.Customer"]}}}
)
def test_an_allowed_model_that_is_not_installed_is_reported(ctx):
    with pytest.raises(ConnectorError) as caught:
        run("create", {"model": "crm.Customer", "fields": {"name": "Ada"}}, ctx)
    assert caught.value.code == "unknown_model"
    assert caught.value.retryable is False


@ALLOW_AUTH
def test_create_inserts_a_row_and_returns_its_fields(ctx):
    output = run(
        "create",
        {
            "model": "auth.User",
            "fields": {
                "username": "ada",
                "email": "ada@example.com",
                "is_active": False,
                "password": "!",  # unusable
            },
        },
        ctx,
    )
    user = User.objects.get(username="ada")
    assert output["model"] == "auth.User"
    assert output["pk"] == user.pk
    assert output["created"] is True
    assert output["fields"]["email"] == "ada@example.com"
    assert output["fields"]["is_active"] is False
    assert output["fields"]["last_login"] is None
    # Datetimes come back as ISO text, so the output is JSON.
    assert output["fields"]["date_joined"] == user.date_joined.isoformat()
    assert user.is_active is False


@ALLOW_AUTH
def test_update_changes_the_one_matching_row(ctx):
    user = User.objects.create(username="bob", email="old@example.com", password="!")
    output = run(
        "update",
        {"model": "auth.User", "lookup": {"username": "bob"}, "fields": {"email": "new@x.io"}},
        ctx,
    )
    user.refresh_from_db()
    assert user.email == "new@x.io"
    assert output["pk"] == user.pk
    assert output["created"] is False
    assert output["fields"]["email"] == "new@x.io"


@ALLOW_AUTH
def test_update_of_a_missing_row_is_not_found(ctx):
    with pytest.raises(ConnectorError) as caught:
        run("update", {"model": "auth.Group", "lookup": {"name": "Nope"}, "fields": {}}, ctx)
    assert caught.value.code == "record_not_found"
    assert caught.value.retryable is False


@ALLOW_AUTH
def test_update_refuses_a_lookup_that_matches_several_rows(ctx):
    User.objects.create(username="a", email="same@x.io")
    User.objects.create(username="b", email="same@x.io")
    with pytest.raises(ConnectorError) as caught:
        run(
            "update",
            {"model": "auth.User", "lookup": {"email": "same@x.io"}, "fields": {"first_name": "Z"}},
            ctx,
        )
    assert caught.value.code == "multiple_records"
    assert not User.objects.filter(first_name="Z").exists()


@ALLOW_AUTH
def test_validation_errors_are_listed_by_field_and_nothing_is_written(ctx):
    Group.objects.create(name="Ops")
    with pytest.raises(ConnectorError) as caught:
        run(
            "create",
            {"model": "auth.User", "fields": {"username": "", "email": "nope", "password": "!"}},
            ctx,
        )
    error = caught.value
    assert error.code == "validation_failed"
    assert error.retryable is False
    assert set(error.details["errors"]) == {"username", "email"}
    assert "email" in error.message
    assert not User.objects.exists()

    with pytest.raises(ConnectorError) as caught:
        run("create", {"model": "auth.Group", "fields": {"name": "Ops"}}, ctx)
    assert caught.value.code == "validation_failed"
    assert "already exists" in caught.value.details["errors"]["name"][0]
    assert Group.objects.count() == 1


@ALLOW_AUTH
@pytest.mark.parametrize(
    ("action", "params", "path"),
    [
        ("create", {"fields": {"nickname": "x"}}, "inputs.fields.nickname"),
        ("create", {"fields": {"name": "x", "id": 5}}, "inputs.fields.id"),
        ("create", {"fields": {"name": "x", "permissions": [1]}}, "inputs.fields.permissions"),
        ("create", {"fields": {"user": 1}}, "inputs.fields.user"),
        (
            "update",
            {"lookup": {"name__icontains": "o"}, "fields": {}},
            "inputs.lookup.name__icontains",
        ),
        (
            "create",
            {"fields": {"name": "x"}, "idempotency_field": "id"},
            "inputs.idempotency_field",
        ),
        (
            "create",
            {"fields": {"name": "x"}, "idempotency_field": "name"},
            "inputs.idempotency_field",
        ),
    ],
)
def test_unknown_and_read_only_fields_are_refused(action, params, path, ctx):
    with pytest.raises(ConnectorInputError) as caught:
        run(action, {"model": "auth.Group", **params}, ctx)
    assert path in [e["path"] for e in caught.value.errors]
    assert caught.value.retryable is False
    assert not Group.objects.exists()


@ALLOW_AUTH
def test_idempotency_field_makes_a_retried_create_find_its_row(ctx):
    params = {"model": "auth.Group", "fields": {}, "idempotency_field": "name"}
    first = run("create", params, ctx)
    retry = run("create", params, ExecutionContext(run_id="run-9", node_id="save_group", attempt=2))
    other_run = run("create", params, ExecutionContext(run_id="run-10", node_id="save_group"))

    assert first["created"] is True
    assert retry["created"] is False
    assert retry["pk"] == first["pk"]
    assert first["fields"]["name"] == "run-9:save_group"
    assert other_run["created"] is True
    assert sorted(Group.objects.values_list("name", flat=True)) == [
        "run-10:save_group",
        "run-9:save_group",
    ]


@ALLOW_AUTH
def test_get_or_create_and_update_or_create(ctx):
    first = run(
        "get_or_create",
        {"model": "auth.User", "lookup": {"username": "cy"}, "fields": {"password": "!"}},
        ctx,
    )
    again = run(
        "get_or_create",
        {"model": "auth.User", "lookup": {"username": "cy"}, "fields": {"email": "ignored@x.io"}},
        ctx,
    )
    assert (first["created"], again["created"]) == (True, False)
    assert again["pk"] == first["pk"]
    assert again["fields"]["email"] == ""

    updated = run(
        "update_or_create",
        {"model": "auth.User", "lookup": {"username": "cy"}, "fields": {"email": "cy@x.io"}},
        ctx,
    )
    created = run(
        "update_or_create",
        {
            "model": "auth.User",
            "lookup": {"username": "di"},
            "fields": {"email": "di@x.io", "password": "!"},
        },
        ctx,
    )
    assert (updated["created"], created["created"]) == (False, True)
    assert dict(User.objects.values_list("username", "email")) == {
        "cy": "cy@x.io",
        "di": "di@x.io",
    }


@ALLOW_AUTH
def test_a_lookup_value_of_the_wrong_type_is_an_input_error(ctx):
    with pytest.raises(ConnectorInputError):
        run("update", {"model": "auth.User", "lookup": {"id": "abc"}, "fields": {}}, ctx)


@pytest.mark.django_db(transaction=True)
@ALLOW_AUTH
def test_concurrent_attempts_of_one_step_create_one_row():
    threads_count = 6
    barrier = threading.Barrier(threads_count)
    outputs = []
    lock = threading.Lock()

    def attempt(number):
        try:
            barrier.wait(timeout=10)
            output = run(
                "create",
                {"model": "auth.Group", "fields": {}, "idempotency_field": "name"},
                ExecutionContext(run_id="run-7", node_id="save", attempt=number),
            )
            with lock:
                outputs.append(output)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(1, threads_count + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(outputs) == threads_count
    assert sorted(o["created"] for o in outputs) == [False] * (threads_count - 1) + [True]
    assert len({o["pk"] for o in outputs}) == 1
    assert list(Group.objects.values_list("name", flat=True)) == ["run-7:save"]
