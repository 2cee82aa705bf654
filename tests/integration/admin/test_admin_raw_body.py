"""The raw webhook body (kept only with EVENTS["keep_raw_body"]) on the admin event page."""

import pytest
from django.test import override_settings
from django.urls import reverse

from automate.events.services import record_event
from tests.factories import make_user

pytestmark = pytest.mark.django_db

RAW = b'{"card": "4242 4242 4242 4242", "note": "sent as-is"}'


@pytest.fixture
def event():
    with override_settings(DJANGO_AUTOMATE={"EVENTS": {"keep_raw_body": True}}):
        stored, _ = record_event(
            type="charge.created", payload={"note": "sent as-is"}, raw_body=RAW
        )
    return stored


def event_page(client, event, perms):
    client.force_login(make_user(staff=True, perms=perms))
    return client.get(reverse("admin:automate_event_change", args=[event.pk])).content.decode()


def test_the_raw_body_is_shown_with_the_raw_permission(client, event):
    page = event_page(client, event, ["automate.view_event", "automate.view_raw_payload"])
    assert "Raw body (as received, unredacted)" in page
    assert "4242 4242 4242 4242" in page


def test_the_raw_body_is_hidden_without_the_raw_permission(client, event):
    page = event_page(client, event, ["automate.view_event"])
    assert "Raw body" not in page
    assert "4242 4242 4242 4242" not in page
