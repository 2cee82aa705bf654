import pytest

from automate.events.models import ImmutableRecordError
from automate.governance import audit
from automate.governance.models import AuditLogEntry

pytestmark = pytest.mark.django_db

SLACK_TOKEN = "xoxb-1234567890-0987654321-abcdefghijklmnop"


def test_audit_details_are_redacted_before_write():
    entry = audit.record(
        action="secret.rotate",
        resource_type="secret",
        resource_id="SLACK_TOKEN",
        details={"token": SLACK_TOKEN, "note": f"rotated {SLACK_TOKEN}", "by": "ops"},
    )
    stored = AuditLogEntry.objects.get(pk=entry.pk)
    assert SLACK_TOKEN not in str(stored.details)
    assert stored.details["by"] == "ops"
    assert stored.actor_repr == "system"


def test_audit_entries_cannot_be_changed_or_deleted():
    entry = audit.record(action="x", resource_type="y")
    entry.action = "z"
    with pytest.raises(ImmutableRecordError):
        entry.save()
    with pytest.raises(ImmutableRecordError):
        entry.delete()
    assert AuditLogEntry.objects.get(pk=entry.pk).action == "x"
