"""The big tables' admin lists write their action checkbox without a form widget: the HTML
must stay exactly Django's, or select-all and the replay action break."""

import pytest
from django.contrib import admin
from django.test.html import parse_html
from django.urls import reverse
from django.utils import translation

from automate.execution.models import OutboxJob
from tests.factories import make_tenant, make_user


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "de"])
def test_the_checkbox_is_djangos(language):
    job = OutboxJob.objects.create(tenant=make_tenant(), kind=OutboxJob.Kind.EVENT)
    ours = admin.site._registry[OutboxJob]
    with translation.override(language):
        expected = admin.ModelAdmin.action_checkbox(ours, job)
        assert parse_html(ours.action_checkbox(job)) == parse_html(expected)


@pytest.mark.django_db
def test_the_list_page_shows_one_checkbox_per_row_and_select_all(client):
    tenant = make_tenant()
    for _ in range(3):
        OutboxJob.objects.create(
            tenant=tenant, kind=OutboxJob.Kind.EVENT, status=OutboxJob.Status.DEAD
        )
    client.force_login(make_user(superuser=True))
    page = client.get(reverse("admin:automate_outboxjob_changelist")).content.decode()
    assert page.count('class="action-select"') == 3
    assert 'id="action-toggle"' in page
