import pytest
from django.contrib.auth.models import Group, User
from django.db import transaction

from automate.events.models import Event
from automate.triggers.model_events import (
    configured_problems,
    track_configured,
    track_model,
    untrack_model,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tracked_groups():
    track_model(Group)
    yield
    untrack_model(Group)


def test_create_update_delete_each_become_an_event(tracked_groups):
    group = Group.objects.create(name="billing")
    group.name = "finance"
    group.save()
    group.name = "finance-eu"
    group.save(update_fields=["name"])
    pk = group.pk
    group.delete()

    events = list(Event.objects.order_by("created_at").values_list("type", "payload", "source"))
    assert [e[0] for e in events] == [
        "auth.group.created",
        "auth.group.updated",
        "auth.group.updated",
        "auth.group.deleted",
    ]
    assert events[0][1] == {
        "model": "auth.group",
        "pk": pk,
        "fields": {"id": pk, "name": "billing"},
        "update_fields": None,
    }
    assert events[2][1]["update_fields"] == ["name"]
    assert {e[2] for e in events} == {"django"}


def test_no_event_when_the_change_rolls_back(tracked_groups):
    def create_then_fail():
        with transaction.atomic():
            Group.objects.create(name="doomed")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        create_then_fail()
    assert Event.objects.count() == 0


def test_sensitive_and_excluded_fields_stay_out_of_the_payload():
    track_configured([{"model": "auth.User", "events": ["created"], "exclude": ["email"]}])
    try:
        User.objects.create_user("ann", email="ann@example.com", password="s3cret-pass")
    finally:
        untrack_model(User)
    payload = Event.objects.get(type="auth.user.created").payload
    assert payload["fields"]["username"] == "ann"
    assert "password" not in payload["fields"]
    assert "email" not in payload["fields"]


def test_configuration_errors_name_the_problem_and_are_not_tracked():
    bad = ["shop.Nope", "automate.Event", {"model": "auth.Group", "events": ["renamed"]}]
    problems = configured_problems(bad)
    assert "'shop.Nope', which is not an installed model" in problems[0]
    assert "own model" in problems[1]
    assert "(auth.Group) 'events' must be a non-empty list" in problems[2]
    # Start-up goes on (manage.py check reports them as automate.E040); nothing is tracked.
    track_configured(bad)
    Group.objects.create(name="ops")
    assert not Event.objects.filter(type__startswith="auth.group").exists()
