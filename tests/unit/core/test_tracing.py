import pytest

from automate.observability.tracing import format_traceparent, new_trace_id, parse_traceparent

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_trace_id_is_taken_from_a_valid_traceparent():
    assert parse_traceparent(VALID) == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert parse_traceparent(VALID.upper()) == "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01",
    ],
)
def test_invalid_traceparent_is_ignored(header):
    assert parse_traceparent(header) is None


def test_new_ids_are_w3c_shaped_and_round_trip():
    trace_id = new_trace_id()
    assert len(trace_id) == 32
    assert int(trace_id, 16) >= 0
    assert trace_id != new_trace_id()
    assert parse_traceparent(format_traceparent(trace_id)) == trace_id
