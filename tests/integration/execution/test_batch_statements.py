"""What a batch of step jobs costs the database, and the hot path's own writes (issue 12,
round three). A batch's statements do not grow with its size (a per-job query added to the
hot path fails here); the fenced RUNNING insert writes for held jobs only; array parameters
written as literals arrive intact. SQLite and PostgreSQL unless marked.
"""

from __future__ import annotations

import datetime
import json
import uuid

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from psycopg.types.json import Jsonb

from automate.execution import pgarray, step_batch
from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.execution.runner import process_batch
from automate.outbox import default_store
from automate.runtime import emit_event
from tests.factories import make_published
from tests.support.databases import postgresql_itself

pytestmark = [pytest.mark.django_db(transaction=True)]

ONE_STEP = {
    "nodes": [
        {"id": "trigger", "type": "trigger"},
        {"id": "noop", "type": "action", "connector": "testkit", "action": "echo"},
    ],
    "edges": [{"source": "trigger", "target": "noop"}],
}


@pytest.fixture(autouse=True)
def process_mode(monkeypatch):
    # Every outcome of a batch in one group, however slowly this machine runs the calls.
    monkeypatch.setattr(step_batch, "GATHER_SECONDS", 5.0)
    with override_settings(
        DJANGO_AUTOMATE={
            "WORKER_MODE": "process",
            "CONNECTORS": ["tests.support.connectors.TestKitConnector"],
        }
    ):
        yield


def _claimed_steps(count: int, worker: str) -> list[OutboxJob]:
    store = default_store()
    for i in range(count):
        emit_event("thing.happened", {"i": i})
    process_batch(store.claim_batch("m", count), store=store, worker_id="m", hop=False)
    return store.claim_batch(worker, count)


def _statements_of_a_batch(size: int) -> int:
    store = default_store()
    for i in range(size):
        emit_event("thing.happened", {"i": i})
    process_batch(store.claim_batch("m", size), store=store, worker_id="m", hop=False)
    with CaptureQueriesContext(connection) as claiming:
        jobs = store.claim_batch("w", size)
    assert len(jobs) == size
    if connection.vendor == "postgresql":
        assert len(claiming) == 1  # SQLite claims row by row (compare-and-set)
    with CaptureQueriesContext(connection) as queries:
        process_batch(jobs, store=store, worker_id="w", hop=False)
    return len(queries)


def test_a_batch_of_step_jobs_costs_the_same_statements_whatever_its_size():
    """Running a claimed batch (prepare, calls, outcomes) issues no statement per job."""
    make_published(
        slug="one", rule_spec={}, trigger_spec={"event_type": "thing.happened"}, graph=ONE_STEP
    )
    three = _statements_of_a_batch(3)
    ten = _statements_of_a_batch(10)
    assert ten == three, (three, ten)
    assert ExecutionRun.objects.filter(status="succeeded").count() == 13


@pytest.mark.postgres
@postgresql_itself
def test_a_batch_of_ten_step_jobs_issues_at_most_nine_statements_on_postgresql():
    """The claim, which also reads the runs with their events; their versions and their
    steps (one statement); the fenced RUNNING insert (one statement, no BEGIN/COMMIT);
    then one transaction for the outcomes: BEGIN, lock the runs, complete the jobs with
    their steps (one statement), read the states, the runs, COMMIT."""
    make_published(
        slug="one", rule_spec={}, trigger_spec={"event_type": "thing.happened"}, graph=ONE_STEP
    )
    assert _statements_of_a_batch(10) <= 8  # and the claim: one


def test_the_running_rows_are_written_for_the_jobs_still_held_only():
    make_published(
        slug="one", rule_spec={}, trigger_spec={"event_type": "thing.happened"}, graph=ONE_STEP
    )
    jobs = _claimed_steps(3, "w")
    lost = jobs[1]
    OutboxJob.objects.filter(pk=lost.pk).update(lease_expires_at=timezone.now())
    prepared, left = step_batch._prepare(jobs, store=default_store(), worker_id="w")
    assert sorted(item.job.pk for item in prepared) == sorted([jobs[0].pk, jobs[2].pk])
    assert not left
    running = StepRun.objects.filter(node_id="noop", status="running")
    assert sorted(running.values_list("run_id", flat=True), key=str) == sorted(
        [jobs[0].run_id, jobs[2].run_id], key=str
    )


AWKWARD = ["plain", 'a "quoted" word', "back\\slash", "{brace},comma", "", "NULL", "é ✓", " sp "]


def test_array_literals_quote_what_needs_quoting():
    assert pgarray.literal([1, None, True, False]) == "{1,NULL,t,f}"
    assert pgarray.literal(['say "hi"', "a\\b"]) == '{"say \\"hi\\"","a\\\\b"}'
    assert pgarray.literal([b"bytes"]) is None
    assert pgarray.param([b"bytes"]) == [b"bytes"]  # psycopg dumps it, as before


def test_a_subclass_of_a_plain_type_is_written_as_psycopg_sends_it():
    """An Enum on str prints "Kind.A" where psycopg sends "a": written as "a" (its
    characters, not its ``__str__``); an Enum on int takes the list psycopg dumps."""
    import enum

    class Kind(str, enum.Enum):  # not a StrEnum: this one prints its name, not its value
        A = "a"

    class Level(int, enum.Enum):
        HIGH = 3

    assert pgarray.literal([Kind.A]) == '{"a"}'
    assert pgarray.literal(["x", Kind.A]) == '{"x","a"}'
    assert pgarray.literal([Level.HIGH]) is None
    assert pgarray.param([Level.HIGH]) == [Level.HIGH]


@pytest.mark.postgres
@postgresql_itself
def test_array_literals_arrive_intact_on_postgresql():
    ids = [uuid.uuid4(), uuid.uuid4()]
    when = [datetime.datetime(2026, 11, 30, 21, 0, 0, 123456, tzinfo=datetime.timezone.utc), None]
    documents = [Jsonb({"k": 'x"y\\z', "n": [1, None]}), Jsonb(None), None]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::text[], %s::uuid[], %s::timestamptz[], %s::jsonb[]::text[], %s::bigint[]",
            [
                pgarray.param([*AWKWARD, None]),
                pgarray.param(ids),
                pgarray.param(when),
                pgarray.param(documents),
                pgarray.param([7, 2**40]),
            ],
        )
        texts, uuids, times, jsons, numbers = cursor.fetchone()
    assert texts == [*AWKWARD, None]
    assert uuids == ids
    assert times == when
    assert [None if text is None else json.loads(text) for text in jsons] == [
        {"k": 'x"y\\z', "n": [1, None]},
        None,
        None,
    ]
    assert numbers == [7, 2**40]


@pytest.mark.postgres
@postgresql_itself
def test_choices_members_are_written_as_their_values_on_postgresql():
    """A TextChoices member (a str subclass) goes into an array literal as the characters
    psycopg would send for it: its value, not its name or its label."""
    statuses = [StepRun.Status.RUNNING, StepRun.Status.SUCCEEDED, 'a "quoted" one']
    assert pgarray.literal(statuses) is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text[]", [pgarray.param(statuses)])
        [texts] = cursor.fetchone()
    assert texts == ["running", "succeeded", 'a "quoted" one']


@pytest.mark.postgres
@postgresql_itself
def test_timestamps_read_on_a_worker_connection_are_the_ones_written():
    """The hot cursor's connection reads timestamps with the C parser on PostgreSQL
    (``execution.pgconn``): the values and their time zone are Django's."""
    from automate.execution import rowload

    written = datetime.datetime(2026, 12, 1, 1, 2, 3, 456789, tzinfo=datetime.UTC)
    with rowload.hot_cursor(connection) as cursor:
        cursor.execute("SELECT %s, %s", [written, written.replace(microsecond=0)])
        hot = cursor.fetchone()
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s, %s", [written, written.replace(microsecond=0)])
        orm = cursor.fetchone()
    assert hot == orm == (written, written.replace(microsecond=0))
    assert [value.tzinfo for value in hot] == [value.tzinfo for value in orm]
    assert all(timezone.is_aware(value) for value in hot)


@pytest.mark.postgres
@postgresql_itself
@pytest.mark.parametrize("prepare", [False, True], ids=["off", "on"])
def test_hot_statements_are_prepared_on_the_server_only_when_asked(prepare):
    """``EXECUTION.prepare_hot_statements``: on, a hot statement is prepared at its first
    use (Django's cursors prepare nothing here); off, it follows the connection."""
    from automate.execution import rowload

    marker = f"automate_hot_{uuid.uuid4().hex}"
    settings = {"WORKER_MODE": "process", "EXECUTION": {"prepare_hot_statements": prepare}}
    with override_settings(DJANGO_AUTOMATE=settings), rowload.hot_cursor(connection) as cursor:
        cursor.execute(f"SELECT %s::int AS {marker}", [1])
        assert cursor.fetchone() == (1,)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            [f"%{marker}%"],
        )
        [prepared] = cursor.fetchone()
    assert prepared == (1 if prepare else 0)


def test_a_step_built_for_a_batch_is_what_the_model_builds():
    """``rowinsert.new`` (the batch's StepRuns, without ``Model.__init__``) gives each field
    the value or default ``StepRun(...)`` gives it, a fresh id and fresh mutable defaults
    per row, and caches the run it was given."""
    from automate.execution import rowinsert

    make_published(
        slug="one", rule_spec={}, trigger_spec={"event_type": "thing.happened"}, graph=ONE_STEP
    )
    emit_event("thing.happened", {"i": 1})
    process_batch(default_store().claim_batch("m", 1), store=default_store(), worker_id="m")
    run = ExecutionRun.objects.get()
    now = timezone.now()
    values = {"run": run, "node_id": "noop", "attempt": 2, "status": "running", "started_at": now}
    fast, other, model = (
        rowinsert.new(StepRun, **values),
        rowinsert.new(StepRun, **values),
        StepRun(**values),
    )
    for field in StepRun._meta.concrete_fields:
        if field.name != "id":
            assert getattr(fast, field.attname) == getattr(model, field.attname), field.name
    assert fast.pk != other.pk
    assert isinstance(fast.pk, uuid.UUID)
    assert fast.outputs == {}
    assert fast.outputs is not other.outputs
    assert fast.run is run
    assert fast._state.adding
    rowinsert.insert([fast])
    assert StepRun.objects.get(pk=fast.pk).started_at == now
