"""automate.compat behaves like Python 3.11's datetime.UTC and enum.StrEnum on every Python
(the matrix-py310-django52 tier runs this on 3.10, where compat supplies its own)."""

import datetime
import enum
import json

from automate.compat import UTC, StrEnum
from automate.execution.orchestrator import NodeStatus
from automate.workflows.graph import NodeType


def test_utc_is_the_utc_timezone():
    assert UTC is datetime.timezone.utc
    assert datetime.datetime(2026, 12, 1, tzinfo=UTC).isoformat() == "2026-12-01T00:00:00+00:00"


def test_str_enum_members_are_their_values_everywhere():
    class Colour(StrEnum):
        RED = "red"
        DARK_BLUE = enum.auto()

    assert Colour.DARK_BLUE == "dark_blue"
    for member, value in [(Colour.RED, "red"), (NodeType.ACTION, "action")]:
        assert str(member) == f"{member}" == format(member) == value
        assert f"{member:>8}" == f"{value:>8}"
        assert json.dumps({member: member}) == json.dumps({value: value})
    assert NodeStatus("failed") is NodeStatus.FAILED
    assert isinstance(NodeStatus.FAILED, str)
