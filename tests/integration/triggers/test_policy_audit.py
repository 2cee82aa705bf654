import pytest
from django.test import override_settings

from automate.governance.models import AuditLogEntry
from automate.governance.policy_audit import record_policy_if_changed

pytestmark = pytest.mark.django_db


def test_a_policy_change_is_audited_once():
    first = record_policy_if_changed()
    assert first is not None
    assert record_policy_if_changed() is None, "unchanged policy writes nothing"
    with override_settings(DJANGO_AUTOMATE={"POLICY": {"allow_ssrf": True}}):
        entry = record_policy_if_changed()
    assert entry.details["changed"] == ["allow_ssrf"]
    assert entry.details["previous"]["allow_ssrf"] is False
    assert AuditLogEntry.objects.filter(action="policy.change").count() == 2
