"""The event table partitioned by month (PostgreSQL): conversion, emit/match, dedupe,
webhooks, months ahead and DEFAULT, prune dropping an expired month, the way back."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import QuerySet
from django.test import override_settings
from django.utils import timezone

from automate.events import partitioning
from automate.events.models import Event
from automate.execution.models import ExecutionRun, OutboxJob
from automate.runtime import emit_event, run_workflow
from automate.triggers.models import WebhookEndpoint
from automate.webhooks import generic_signature_header
from tests.factories import make_published, make_tenant

pytestmark = pytest.mark.django_db(transaction=True)

MONTHLY = {**settings.DJANGO_AUTOMATE, "EVENTS": {"partitioning": "monthly"}}
SECRET = "whsec_partition_0123456789"


def command(*args: str) -> str:
    out = StringIO()
    call_command("automate_partition_events", *args, stdout=out)
    return out.getvalue()


def fks_to_events() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
            "AND confrelid = to_regclass('automate_event')"
        )
        return int(cursor.fetchone()[0])


def rows_by_partition() -> dict[str, int]:
    return {p.name: partitioning.rows_in(p) for p in partitioning.partitions()}


@pytest.fixture
def on_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("table partitioning: PostgreSQL")
    partitioning.reset()
    with override_settings(DJANGO_AUTOMATE=MONTHLY):
        yield
        # The way back, so the next tests find Django's own table (and it is tested).
        if partitioning.is_partitioned():
            command("--revert", "--apply")
    partitioning.reset()


@pytest.fixture
def partitioned(on_postgres):
    command("--apply")
    assert partitioning.is_partitioned()


@pytest.mark.postgres
def test_conversion_keeps_existing_events_and_their_runs(on_postgres):
    make_published(slug="before")
    runs = [run_workflow("before", {"n": n}) for n in range(3)]
    emit_event("invoice.paid", {"amount": 1}, dedupe_key="before-1")
    assert fks_to_events() == 2  # runs and outbox jobs

    out = command("--apply")

    assert "partitioned by month" in out
    assert fks_to_events() == 0
    assert Event.objects.count() == 4
    kept = [ExecutionRun.objects.get(pk=run.pk) for run in runs]
    assert [(run.status, run.event.payload) for run in kept] == [
        ("succeeded", {"n": n}) for n in range(3)
    ]
    # The old table is the first partition, as it was: no row was copied.
    rows = rows_by_partition()
    old = [name for name in rows if name.startswith("automate_event_pre_")]
    assert len(old) == 1
    assert rows[old[0]] == 4
    assert rows["automate_event_default"] == 0
    # A dedupe key used before the conversion still returns its first event.
    assert emit_event("invoice.paid", {"amount": 2}, dedupe_key="before-1") == str(
        Event.objects.get(dedupe_key="before-1").pk
    )


@pytest.mark.postgres
def test_emit_then_match_then_run_completes(partitioned):
    make_published(slug="big-invoices")

    event_id = emit_event("invoice.paid", {"amount": 5000}, source="stripe")

    run = ExecutionRun.objects.get(event_id=event_id)
    assert run.status == "succeeded"
    assert run.event.payload == {"amount": 5000}
    assert OutboxJob.objects.filter(event_id=event_id, status="COMPLETED").exists()


@pytest.mark.postgres
def test_a_dedupe_key_returns_the_first_event_per_tenant(partitioned):
    other = make_tenant("other")
    first = emit_event("invoice.paid", {"amount": 1}, dedupe_key="evt_1")

    assert emit_event("invoice.paid", {"amount": 999}, dedupe_key="evt_1") == first
    assert emit_event("invoice.paid", {"amount": 3}, dedupe_key="evt_1", tenant=other) != first
    assert Event.objects.count() == 2
    assert Event.objects.get(pk=first).payload == {"amount": 1}


@pytest.mark.postgres
def test_two_processes_racing_with_one_key_get_one_event(partitioned):
    start = threading.Barrier(2)
    results: list[dict[str, str]] = []
    errors: list[Exception] = []

    def emit_all() -> None:
        try:
            start.wait()
            results.append(
                {
                    f"k{n}": emit_event("invoice.paid", {"n": n}, dedupe_key=f"k{n}")
                    for n in range(30)
                }
            )
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=emit_all) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert results[0] == results[1], "each key gave both racers the same (first) event"
    assert Event.objects.count() == OutboxJob.objects.count() == 30


@pytest.mark.postgres
def test_webhook_intake_and_its_redelivery(partitioned, client, monkeypatch):
    monkeypatch.setenv("AUTOMATE_HOOK_SECRET", SECRET)
    shop = WebhookEndpoint.objects.create(
        tenant=make_tenant("shop"),
        slug="shop",
        name="shop",
        scheme="generic",
        secret_name="HOOK_SECRET",
        event_type="invoice.paid",
    )
    make_published(tenant=shop.tenant, trigger_spec={"event_type": "invoice.paid"})
    body = json.dumps({"amount": 4000}).encode()
    headers = {
        "X-Signature": generic_signature_header(SECRET, body, "delivery-1"),
        "X-Delivery-Id": "delivery-1",
    }

    first = client.post("/hooks/shop/", body, content_type="application/json", headers=headers)
    again = client.post("/hooks/shop/", body, content_type="application/json", headers=headers)

    assert first.status_code == 202, first.json()
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    assert Event.objects.count() == 1
    assert ExecutionRun.objects.get().status == "succeeded"


@pytest.mark.postgres
def test_converting_twice_or_without_the_setting_is_refused(on_postgres):
    plain = {**MONTHLY, "EVENTS": {}}
    with override_settings(DJANGO_AUTOMATE=plain), pytest.raises(CommandError, match="monthly"):
        command("--apply")
    assert not partitioning.is_partitioned()
    command("--apply")
    with pytest.raises(CommandError, match="partitioned already"):
        command("--apply")
    with pytest.raises(CommandError, match="partitioned already"):
        command("--plan")


@pytest.mark.postgres
def test_plan_prints_the_sql_and_changes_nothing(on_postgres):
    out = command("--plan")

    assert "CREATE UNIQUE INDEX CONCURRENTLY" in out
    assert "PARTITION BY RANGE (created_at)" in out
    assert "automate_event_dedupe" in out
    assert not partitioning.is_partitioned()


@pytest.mark.postgres
def test_an_event_no_month_covers_lands_in_default_and_moves_when_its_month_is_made(
    partitioned,
):
    event_id = emit_event("invoice.paid", {"amount": 1}, dedupe_key="far")
    later = timezone.now() + timedelta(days=800)
    Event.objects.filter(pk=event_id).update(created_at=later)
    assert rows_by_partition()["automate_event_default"] == 1

    created = partitioning.ensure_ahead(0, now=later)

    assert created == [f"automate_event_p{later:%Y%m}"]
    rows = rows_by_partition()
    assert (rows["automate_event_default"], rows[created[0]]) == (0, 1)
    assert Event.objects.get(pk=event_id).payload == {"amount": 1}
    # Its dedupe key moved with it.
    assert emit_event("invoice.paid", {"amount": 2}, dedupe_key="far") == event_id


@pytest.mark.postgres
def test_workers_and_the_command_keep_months_created_ahead(partitioned):
    now = timezone.now()
    wanted = [f"automate_event_p{partitioning.month_start(now, n):%Y%m}" for n in (1, 2, 3, 6)]
    names = set(rows_by_partition())
    assert set(wanted[:3]) <= names
    assert wanted[3] not in names

    six = {**MONTHLY, "EVENTS": {"partitioning": "monthly", "partitions_ahead": 6}}
    with override_settings(DJANGO_AUTOMATE=six):
        created = partitioning.ensure_partitions_if_due()
    assert wanted[3] in created
    assert partitioning.ensure_partitions_if_due() == []  # once an hour
    assert "Every month is there already." in command("--ensure-ahead", "6")


@pytest.mark.postgres
def test_prune_drops_an_expired_month_and_deletes_the_rest_in_batches(on_postgres):
    now = timezone.now()
    # Converted "200 days ago", so that months in the past have partitions of their own.
    partitioning.apply(partitioning.conversion_plan(now=now - timedelta(days=200)))
    partitioning.ensure_ahead(8, now=now - timedelta(days=200))
    make_published(slug="aged")
    runs = [run_workflow("aged", {"n": n}) for n in range(6)]
    # events_days = runs_days = 30: the month holding the cutoff is partly past it (its
    # rows go in batches); the months before it are wholly past (dropped).
    cutoff = now - timedelta(days=30)
    month = partitioning.month_start(cutoff)
    ages = [month - timedelta(days=40)] * 3 + [month + (cutoff - month) / 2] * 2 + [now]
    for run, at in zip(runs, ages, strict=True):
        ExecutionRun.objects.filter(pk=run.pk).update(
            status="succeeded", created_at=at, finished_at=at
        )
        Event.objects.filter(pk=run.event_id).update(created_at=at)
    old_month = f"automate_event_p{ages[0]:%Y%m}"
    assert rows_by_partition()[old_month] == 3

    out = StringIO()
    call_command("automate_prune", "--batch-size", "1", stdout=out)

    line = re.search(r"^events: deleted (\d+) in (\d+) batches.*$", out.getvalue(), re.M)
    assert line, out.getvalue()
    assert (int(line[1]), int(line[2])) == (5, 2), line[0]
    assert "monthly partitions dropped" in line[0]
    left = rows_by_partition()
    assert old_month not in left
    assert left[f"automate_event_p{month:%Y%m}"] == 0
    assert list(Event.objects.values_list("pk", flat=True)) == [runs[5].event_id]
    assert not OutboxJob.objects.filter(event_id__in=[r.event_id for r in runs[:5]]).exists()


@pytest.mark.postgres
def test_the_way_back_restores_one_plain_table_with_its_keys(partitioned):
    first = emit_event("invoice.paid", {"amount": 1}, dedupe_key="kept")

    assert "one plain table again" in command("--revert", "--apply")

    assert not partitioning.is_partitioned()
    assert fks_to_events() == 2
    assert emit_event("invoice.paid", {"amount": 2}, dedupe_key="kept") == first
    with pytest.raises(CommandError, match="not partitioned"):
        command("--revert", "--plan")
    with pytest.raises(CommandError, match="--revert goes with --plan or --apply"):
        command("--revert", "--status")


def test_another_database_is_refused_clearly():
    if connection.vendor == "postgresql":
        pytest.skip("the refusal on other databases")
    for args in (["--plan"], ["--apply"], ["--ensure-ahead", "3"], ["--status"]):
        with pytest.raises(CommandError, match="needs PostgreSQL"):
            command(*args)


@pytest.fixture
def other_connection():
    """A second database connection in a transaction of its own (rolled back after)."""
    other = connections.create_connection("default")
    other.set_autocommit(False)
    yield other
    other.rollback()
    other.close()


def bound_constraints() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass('automate_event') "
            "AND conname LIKE '%%_bound'"
        )
        return [name for (name,) in cursor.fetchall()]


@pytest.mark.postgres
def test_a_failed_switch_leaves_the_plain_table_taking_next_months_events(
    on_postgres, other_connection, monkeypatch
):
    monkeypatch.setattr(partitioning, "LOCK_TIMEOUT", "200ms")
    # A long transaction reading the outbox: the switch cannot drop its foreign key.
    with other_connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM automate_outboxjob")

    with pytest.raises(CommandError, match=r"Nothing changed.*lock was not granted within 200ms"):
        command("--apply")

    assert not partitioning.is_partitioned()
    assert bound_constraints() == []
    assert "WARNING" not in command("--status")
    event_id = emit_event("invoice.paid", {"amount": 1})
    next_month = partitioning.month_start(timezone.now(), 1) + timedelta(days=2)
    Event.objects.filter(pk=event_id).update(created_at=next_month)  # the CHECK would refuse
    later = Event.objects.create(
        tenant=Event.objects.get(pk=event_id).tenant, type="invoice.paid", payload={}
    )
    Event.objects.filter(pk=later.pk).update(created_at=next_month)


@pytest.mark.postgres
def test_phase_one_gives_up_behind_a_long_transaction_instead_of_queueing_writes(
    on_postgres, other_connection, monkeypatch
):
    monkeypatch.setattr(partitioning, "LOCK_TIMEOUT", "200ms")
    with other_connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM automate_event")

    with pytest.raises(CommandError, match=r"Nothing changed.*lock was not granted"):
        command("--apply")

    assert not partitioning.is_partitioned()
    assert bound_constraints() == []


@pytest.mark.postgres
def test_status_warns_of_a_bound_left_on_the_plain_table(on_postgres):
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE automate_event ADD CONSTRAINT automate_event_pre_209901_bound "
            "CHECK (created_at < '2099-01-01') NOT VALID"
        )
    try:
        out = command("--status")
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE automate_event DROP CONSTRAINT automate_event_pre_209901_bound"
            )
    assert "WARNING: automate_event_pre_209901_bound is left from a failed --apply" in out


@pytest.mark.postgres
def test_plan_says_how_many_dedupe_keys_the_switch_copies(on_postgres):
    emit_event("invoice.paid", {}, dedupe_key="a")
    emit_event("invoice.paid", {}, dedupe_key="b")
    emit_event("invoice.paid", {})

    assert "copies 2 dedupe keys into automate_event_dedupe" in command("--plan")


@pytest.mark.postgres
def test_updating_a_dedupe_key_frees_the_old_one_and_takes_the_new(partitioned):
    first = emit_event("invoice.paid", {"n": 1}, dedupe_key="old")
    second = emit_event("invoice.paid", {"n": 2}, dedupe_key="taken")

    Event.objects.filter(pk=first).update(dedupe_key="new")

    assert emit_event("invoice.paid", {"n": 3}, dedupe_key="new") == first
    assert emit_event("invoice.paid", {"n": 4}, dedupe_key="old") not in (first, second)
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.filter(pk=first).update(dedupe_key="taken")
    other = make_tenant("moved")
    Event.objects.filter(pk=second).update(tenant=other)
    third = emit_event("invoice.paid", {"n": 5}, dedupe_key="taken")
    assert third != second


@pytest.mark.postgres
def test_a_dead_letter_replayed_while_prune_looks_is_kept_with_its_month(on_postgres, monkeypatch):
    now = timezone.now()
    partitioning.apply(partitioning.conversion_plan(now=now - timedelta(days=200)))
    partitioning.ensure_ahead(8, now=now - timedelta(days=200))
    event_id = emit_event("invoice.paid", {"amount": 1})
    old = partitioning.month_start(now - timedelta(days=90))
    Event.objects.filter(pk=event_id).update(created_at=old + timedelta(days=3))
    job = OutboxJob.objects.get(event_id=event_id)
    OutboxJob.objects.filter(pk=job.pk).update(status="DEAD")
    partitioning.drop_expired(old, old)  # the empty months before it
    cutoff = partitioning.month_start(old, 1)  # only its month is past retention
    real_exists = QuerySet.exists
    looked: list[bool] = []

    def replayed_after_the_first_look(self: QuerySet) -> bool:
        result = real_exists(self)
        if not looked:
            looked.append(result)
            OutboxJob.objects.filter(pk=job.pk).update(status="PENDING")  # a replay
        return result

    monkeypatch.setattr(QuerySet, "exists", replayed_after_the_first_look)
    assert partitioning.drop_expired(cutoff, cutoff) == (0, 0)
    monkeypatch.setattr(QuerySet, "exists", real_exists)

    assert OutboxJob.objects.get(pk=job.pk).status == "PENDING"
    assert f"automate_event_p{old:%Y%m}" in rows_by_partition()
    # Done, it goes with its month.
    OutboxJob.objects.filter(pk=job.pk).update(status="COMPLETED")
    assert partitioning.drop_expired(cutoff, cutoff) == (1, 1)
    assert not OutboxJob.objects.filter(pk=job.pk).exists()
