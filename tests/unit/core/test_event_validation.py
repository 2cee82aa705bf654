import pytest

from automate.events import InvalidEventError
from automate.events.validation import check_dedupe_key, check_name, check_payload
from automate.workflows.specs import trigger_matches, trigger_problems


@pytest.mark.parametrize(
    "payload", [[1, 2], "text", 42, None, {"a": float("nan")}, {"a": object()}]
)
def test_payload_must_be_a_json_object(payload):
    with pytest.raises(InvalidEventError) as info:
        check_payload(payload, max_bytes=10_000)
    assert info.value.code == "invalid_event"
    assert info.value.details["field"] == "payload"


def test_payload_over_the_limit_names_size_and_limit():
    with pytest.raises(InvalidEventError) as info:
        check_payload({"blob": "x" * 2000}, max_bytes=1024)
    assert info.value.code == "payload_too_large"
    assert info.value.details["limit"] == 1024
    assert "1024" in info.value.message


def test_payload_is_normalised_to_json():
    assert check_payload({"items": (1, 2)}, max_bytes=1024) == {"items": [1, 2]}


@pytest.mark.parametrize("name", ["invoice.paid", "github:push", "a", "orders/created", "x-1_2"])
def test_good_names(name):
    assert check_name("type", name) == name


@pytest.mark.parametrize("name", ["", " invoice", "invoice paid", ".x", "x" * 201, None, 3])
def test_bad_names(name):
    with pytest.raises(InvalidEventError, match="Event type must be"):
        check_name("type", name)


def test_dedupe_key_rules():
    assert check_dedupe_key(None) is None
    assert check_dedupe_key("evt_1") == "evt_1"
    for bad in ["", "x" * 256, 5]:
        with pytest.raises(InvalidEventError):
            check_dedupe_key(bad)


def test_trigger_spec_validation_names_the_field():
    assert trigger_problems({"event_type": "invoice.paid", "source": "stripe"}) == []
    assert trigger_problems({"event_type": "invoice.*"}) == []
    fields = {p["field"] for p in trigger_problems({"source": "bad source", "extra": 1})}
    assert fields == {"trigger_spec.event_type", "trigger_spec.source", "trigger_spec"}
    assert trigger_problems([]) == [{"field": "trigger_spec", "message": "must be a JSON object"}]


def test_trigger_matching():
    spec = {"event_type": "invoice.paid", "source": "stripe"}
    assert trigger_matches(spec, event_type="invoice.paid", source="stripe")
    assert not trigger_matches(spec, event_type="invoice.paid", source="api")
    assert not trigger_matches(spec, event_type="invoice.created", source="stripe")
    assert trigger_matches({"event_type": "invoice.*"}, event_type="invoice.created", source="x")
    assert trigger_matches({"event_type": "*"}, event_type="anything", source="x")


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        ({"note": "a\x00b"}, "payload.note"),
        ({"items": ["ok", "\ud800"]}, "payload.items[1]"),
        ({"a\x00": 1}, "payload.a\\x00"),  # shown escaped: it goes into a response
    ],
)
def test_text_no_database_can_store_is_refused_naming_where(payload, path):
    with pytest.raises(InvalidEventError) as info:
        check_payload(payload, max_bytes=10_000)
    assert info.value.details["path"] == path


def test_deeply_nested_payloads_are_refused():
    deep: dict = {}
    node = deep
    for _ in range(100):
        node["x"] = {}
        node = node["x"]
    with pytest.raises(InvalidEventError, match="nesting deeper than 64"):
        check_payload(deep, max_bytes=1_000_000)


def test_sources_are_at_most_100_characters():
    assert check_name("source", "s" * 100)
    with pytest.raises(InvalidEventError, match="1-100 characters"):
        check_name("source", "s" * 101)


def test_model_event_snapshots_never_fail_on_files_or_bytes():
    import json

    from django.db.models import FileField
    from django.db.models.fields.files import FieldFile

    from automate.triggers.model_events import _SnapshotEncoder

    value = {
        "doc": FieldFile(None, FileField(), "invoices/1.pdf"),
        "blob": b"\x00\x01",
        "x": object(),
    }
    encoded = json.loads(json.dumps(value, cls=_SnapshotEncoder))
    assert encoded["doc"] == "invoices/1.pdf"
    assert encoded["blob"] == {"bytes": 2}
    assert encoded["x"].startswith("<object")
