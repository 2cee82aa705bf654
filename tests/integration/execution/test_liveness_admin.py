"""Operators see the workers in the admin: a read-only list, alive or dead, shown to
superusers and to staff given ``automate.view_workerprocess`` only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from automate.execution.models import WorkerProcess
from automate.tenants.scoping import OPERATOR_MODELS, UNOWNED_MODELS
from tests.factories import make_tenant, make_user

pytestmark = pytest.mark.django_db

LIST = "admin:automate_workerprocess_changelist"


@pytest.fixture
def rows():
    now = timezone.now()
    for worker_id, silent_for in (("alive-1", 0), ("dead-1", 60)):
        beat = now - timedelta(seconds=silent_for)
        WorkerProcess.objects.create(
            worker_id=worker_id,
            hostname="worker-host",
            pid=4242,
            concurrency=8,
            started_at=beat - timedelta(hours=1),
            last_heartbeat_at=beat,
        )


def staff(*perms):
    """Staff of a tenant (members see their tenants' rows elsewhere in the admin)."""
    user = make_user(staff=True, perms=list(perms))
    make_tenant(f"tenant-of-{user.pk}").members.add(user)
    return user


def test_the_list_shows_every_worker_and_whether_it_is_alive(client, rows):
    client.force_login(make_user(superuser=True))
    page = client.get(reverse(LIST))
    assert page.status_code == 200
    shown = {row.worker_id: row.is_alive for row in page.context["cl"].result_list}
    assert shown == {"alive-1": True, "dead-1": False}
    html = page.content.decode()
    for column in ("worker-host", "4242", "8", "icon-yes.svg", "icon-no.svg"):
        assert column in html
    # Heartbeats come every few seconds: their age is told in seconds, then minutes.
    assert "0 seconds ago" in html or "1 second ago" in html
    assert "1\xa0minute ago" in html

    alive_only = client.get(reverse(LIST), {"alive": "yes"})
    assert [row.worker_id for row in alive_only.context["cl"].result_list] == ["alive-1"]
    dead_only = client.get(reverse(LIST), {"alive": "no"})
    assert [row.worker_id for row in dead_only.context["cl"].result_list] == ["dead-1"]


def test_staff_need_the_view_permission(client, rows):
    client.force_login(staff())
    assert client.get(reverse(LIST)).status_code == 403
    client.force_login(staff("automate.view_workerprocess"))
    page = client.get(reverse(LIST))
    assert page.status_code == 200
    assert len(page.context["cl"].result_list) == 2, "no tenant owns a worker: all are shown"


def test_nobody_adds_changes_or_deletes_a_worker_here(client, rows):
    client.force_login(make_user(superuser=True))
    row = reverse("admin:automate_workerprocess_change", args=["dead-1"])
    assert client.get(row).status_code == 200, "a read-only page"
    assert client.post(row, {"hostname": "moved"}).status_code == 403
    assert client.get(reverse("admin:automate_workerprocess_add")).status_code == 403
    delete = reverse("admin:automate_workerprocess_delete", args=["dead-1"])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert WorkerProcess.objects.get(pk="dead-1").hostname == "worker-host"
    model_admin = admin.site._registry[WorkerProcess]
    assert model_admin.get_actions(client.get(reverse(LIST)).wsgi_request) == {}


def test_the_worker_list_is_the_only_admin_of_an_unowned_model():
    registered = {
        model._meta.label_lower
        for model in admin.site._registry
        if model._meta.label_lower in UNOWNED_MODELS
    }
    assert registered == set(OPERATOR_MODELS) == {"automate.workerprocess"}
