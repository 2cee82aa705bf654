"""Pages and hot queries at 100k and 1M runs on PostgreSQL. Prints figures; asserts nothing.

    .venv/bin/python bench/scale.py [--sizes 100000,1000000] [--repeat 7] [--reload]
                                    [--code /path/to/checkout] [--prefix automate_scale_]
                                    [--load-events 2000] [--partition-events 2000]
                                    [--skip-pages]

``--sizes 100000`` alone is the smaller set (a minute or two to load instead of ten).

For each size N it loads (once; ``--reload`` to redo) a database ``<prefix><label>``
(``automate_scale_100k``, ``automate_scale_1m``) with N events, N runs, 2N steps, 2N
outbox jobs and N/100 audit entries: 5 tenants, 20 workflows of 3 versions each, 10 event
types, statuses mostly succeeded (92 % succeeded, 6 % failed, 2 % cancelled, the newest
N/2000 pending or running), webhook-like payloads of 0.7-2 KB (1 % of 10-20 KB),
timestamps spread over the last 180 days. The load is SQL (``generate_series``) with the
indexes and constraints dropped and re-created afterwards, then ``VACUUM ANALYZE``:
about 1 minute for 100k and 10 for 1M on this 2-core machine.

Then it times, in a child process using the standalone site's settings
(``config.settings`` with ``DATABASE_URL`` pointing at that database) and Django's test
client logged in as a superuser, the median of ``--repeat`` requests of each page: the
studio runs list with each filter, the dead letters, the dashboard, a run page, the admin
change lists and an admin search; and, in a rolled-back transaction, the worker's claim,
the reaper's query and one prune batch. Both sizes are printed side by side with their
ratio: the figures should stay flat (ratio near 1).

Then (``bench/prune_load.py``, ``--load-events`` events, default 2,000; 0 skips it) prune
batches beside busy workers: two worker processes drain a one-step workflow alone, then
again while a prune walks the data set's old runs in batches of 1,000 (each batch rolled
back, so the data set is unchanged), then the prune alone: worker runs and jobs per second
with and without the prune, the prune's rows per second beside the workers and alone (as
ratios), and the batch times p50/p95.

Then (``bench/partition_load.py``, ``--partition-events`` events, default 2,000; 0 skips
it) the event table partitioned by month against the plain one: a copy of the database
(``<db>_part``) gets its events spread over monthly partitions; on both, emits per second
(each with a new dedupe key), duplicate emits per second, match + run jobs per second, the
batched prune's rows per second, and removing the oldest whole month of events (a batched
delete vs one partition dropped; rolled back), side by side with their ratio. The copy is
dropped afterwards. ``--skip-pages`` skips the page timings.

``--code`` runs migrations and pages from another checkout (e.g. the main branch) to get
"before" figures; the loader adapts to the columns the schema has. Table and index sizes
of the four big tables are printed too. Databases are kept for re-use; drop them with
``--drop``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get(
    "AUTOMATE_BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
BIG_TABLES = [
    "automate_event",
    "automate_executionrun",
    "automate_steprun",
    "automate_outboxjob",
    "automate_auditlogentry",
]
TENANTS = ["default", "acme", "globex", "initech", "umbrella"]
EVENT_TYPES = [
    "invoice.paid",
    "invoice.payment_failed",
    "customer.created",
    "customer.updated",
    "charge.refunded",
    "order.created",
    "order.shipped",
    "ticket.opened",
    "lead.created",
    "subscription.cancelled",
]
WORKFLOWS_PER_TENANT = 4
VERSIONS = 3
SPAN_DAYS = 180
# What chat.postMessage answers (about 600 bytes), as a step's and a run's outputs.
SLACK = (
    "jsonb_build_object('ok', true, 'channel', 'C024BE91L', 'ts', extract(epoch from at)::text, "
    "'message', jsonb_build_object('type', 'message', 'subtype', 'bot_message', "
    "'text', e_type || ' for customer' || (i % 5000) || '@example.com', "
    "'ts', extract(epoch from at)::text, 'username', 'Automate', 'bot_id', 'B01234567', "
    "'app_id', 'A0123456789', 'team', 'T024BE7LD', "
    "'bot_profile', jsonb_build_object('id', 'B01234567', 'app_id', 'A0123456789', "
    "'name', 'Automate', 'deleted', false, 'team_id', 'T024BE7LD', "
    "'icons', jsonb_build_object('image_36', 'https://a.slack-edge.com/80588/img/plugins/app/bot_36.png')), "
    "'blocks', jsonb_build_array(jsonb_build_object('type', 'rich_text', 'block_id', "
    "substr(md5('b' || i), 1, 5), 'elements', jsonb_build_array(jsonb_build_object("
    "'type', 'rich_text_section', 'elements', jsonb_build_array(jsonb_build_object("
    "'type', 'text', 'text', e_type))))))))"
)


def label_of(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def url_of(db: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{db}"


def child_env(code: Path, url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": url,
        "DJANGO_SECRET_KEY": "bench-scale-not-secret",
        "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "DJANGO_DEBUG": "0",
        "AUTOMATE_LOG_LEVEL": "ERROR",
        "PYTHONWARNINGS": "ignore",
        "PYTHONPATH": f"{code / 'backend'}:{code}",
    }


# --- loading ---------------------------------------------------------------------------------


def columns(conn: psycopg.Connection[Any], table: str) -> dict[str, bool]:
    """Column name -> NOT NULL, for ``table``."""
    rows = conn.execute(
        "SELECT column_name, is_nullable = 'NO' FROM information_schema.columns "
        "WHERE table_name = %s",
        [table],
    ).fetchall()
    return dict(rows)


def insert_select(
    conn: psycopg.Connection[Any], table: str, exprs: dict[str, str], source: str
) -> None:
    """``INSERT INTO table (cols) SELECT exprs FROM source`` for the columns the table has."""
    have = columns(conn, table)
    missing = [c for c, not_null in have.items() if not_null and c not in exprs]
    if missing:
        raise SystemExit(f"bench/scale.py does not know how to fill {table}.{missing}")
    used = [c for c in exprs if c in have]
    sql = (
        f"INSERT INTO {table} ({', '.join(used)}) "
        f"SELECT {', '.join(exprs[c] for c in used)} FROM {source}"
    )
    conn.execute(sql)


def drop_indexes(conn: psycopg.Connection[Any]) -> list[str]:
    """Drop every index and constraint but primary keys of the big tables; return the DDL."""
    ddl: list[str] = []
    for table in BIG_TABLES:
        for name, definition in conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('u', 'f', 'c', 'x') "
            "ORDER BY contype DESC",
            [table],
        ).fetchall():
            ddl.append(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
            conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        for name, definition in conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            [table, table],
        ).fetchall():
            ddl.insert(0, definition)
            conn.execute(f"DROP INDEX {name}")
    return ddl


def load(url: str, n: int) -> None:
    """Fill a freshly migrated database with the data set of size ``n``."""
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET synchronous_commit = off")
        ddl = drop_indexes(conn)
        # Raw webhook bodies: kept for ever by the schema without EVENTS.keep_raw_body (no
        # automate_event_raw_body index); with it, as if the setting were on with the default
        # 7-day retention.
        raw_days = 1 if any("automate_event_raw_body" in d for d in ddl) else 1000
        for table in BIG_TABLES:
            conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        for i, slug in enumerate(TENANTS, start=1):
            conn.execute(
                "INSERT INTO automate_tenant (id, slug, name, created_at) "
                "VALUES (%s, %s, %s, now() - interval '400 days')",
                [i, slug, slug.title()],
            )
        conn.execute("SELECT setval('automate_tenant_id_seq', %s)", [len(TENANTS)])
        graph = json.dumps(
            {
                "nodes": [
                    {"id": "trigger", "type": "trigger", "position": {"x": 80, "y": 160}},
                    {
                        "id": "notify",
                        "type": "action",
                        "connector": "slack",
                        "action": "post_message",
                        "params": {"channel": "#ops", "text": "{{ event.payload.type }}"},
                        "position": {"x": 340, "y": 160},
                    },
                ],
                "edges": [{"source": "trigger", "target": "notify"}],
            }
        )
        workflows = len(TENANTS) * WORKFLOWS_PER_TENANT
        wf_exprs = {
            "id": "w",
            "tenant_id": f"1 + (w - 1) % {len(TENANTS)}",
            "slug": "'workflow-' || w",
            "name": "'Workflow ' || lpad(w::text, 2, '0')",
            "description": "''",
            "is_active": "true",
            "draft_trigger_spec": f"jsonb_build_object('event_type', (ARRAY{EVENT_TYPES})[1 + (w - 1) % {len(EVENT_TYPES)}])",
            "draft_rule_spec": "'{}'::jsonb",
            "draft_graph": f"'{graph}'::jsonb",
            "draft_revision": "3",
            "created_at": "now() - interval '400 days'",
            "updated_at": "now() - interval '1 day'",
            # No failure notices (slack, email) on the loaded workflows.
            "notify_slack_channel": "''",
            "notify_slack_token_secret": "''",
            "notify_email_to": "''",
            "notify_quiet_minutes": "0",
        }
        insert_select(conn, "automate_workflow", wf_exprs, f"generate_series(1, {workflows}) w")
        conn.execute("SELECT setval('automate_workflow_id_seq', %s)", [workflows])
        version_exprs = {
            "id": f"(w - 1) * {VERSIONS} + v",
            "workflow_id": "w",
            "version_num": "v",
            "trigger_spec": f"jsonb_build_object('event_type', (ARRAY{EVENT_TYPES})[1 + (w - 1) % {len(EVENT_TYPES)}])",
            "rule_spec": "'{}'::jsonb",
            "graph": f"'{graph}'::jsonb",
            "notes": "''",
            "published_at": f"now() - ({VERSIONS + 1} - v) * interval '{SPAN_DAYS // VERSIONS} days'",
            "created_at": f"now() - ({VERSIONS + 1} - v) * interval '{SPAN_DAYS // VERSIONS} days'",
        }
        insert_select(
            conn,
            "automate_workflowversion",
            version_exprs,
            f"generate_series(1, {workflows}) w, generate_series(1, {VERSIONS}) v",
        )
        conn.execute("SELECT setval('automate_workflowversion_id_seq', %s)", [workflows * VERSIONS])
        conn.execute(f"UPDATE automate_workflow SET live_version_id = id * {VERSIONS}")

        # Row i: its workflow is skewed (workflow 1 takes ~1/3 of the runs, workflow 20 ~0.3 %).
        wf = f"(1 + floor({workflows} * power(((i::bigint * 7919) % 10007) / 10007.0, 2.2)))::int"
        at = f"(now() - interval '{SPAN_DAYS} days' + (i::float / {n}) * interval '{SPAN_DAYS} days' + ((i * 31) % 1000) * interval '1 ms')"
        etype = f"(ARRAY{EVENT_TYPES})[1 + ({wf} - 1) % {len(EVENT_TYPES)}]"
        filler = "repeat(md5(i::text), 20 + (i % 40))"
        big = "CASE WHEN i % 100 = 0 THEN repeat(md5((i + 1)::text), 400) ELSE '' END"
        payload = (
            "jsonb_build_object('id', 'evt_' || substr(md5('e' || i), 1, 24), 'object', 'event', "
            "'type', e_type, 'api_version', '2024-06-20', 'created', extract(epoch from at)::bigint, "
            "'livemode', false, 'pending_webhooks', 1, "
            "'request', jsonb_build_object('id', 'req_' || substr(md5('q' || i), 1, 14), "
            "'idempotency_key', md5('k' || i)::uuid), "
            "'data', jsonb_build_object('object', jsonb_build_object("
            "'id', 'in_' || substr(md5('i' || i), 1, 24), 'customer', 'cus_' || substr(md5('c' || (i % 5000)), 1, 14), "
            "'customer_email', 'customer' || (i % 5000) || '@example.com', "
            "'amount_due', (i * 37) % 100000, 'amount_paid', (i * 37) % 100000, 'currency', 'usd', "
            "'status', 'paid', 'lines', jsonb_build_array("
            "jsonb_build_object('id', 'il_' || substr(md5('l1' || i), 1, 24), 'amount', (i * 13) % 50000, 'description', 'Pro plan'), "
            "jsonb_build_object('id', 'il_' || substr(md5('l2' || i), 1, 24), 'amount', (i * 17) % 50000, 'description', 'Seats')), "
            f"'description', {filler}, 'metadata', jsonb_build_object('order', i::text, 'notes', {big}))))"
        )
        source = (
            f"(SELECT i, {at} AS at, {wf} AS wf, {etype} AS e_type, "
            f"(ARRAY['webhook','webhook','api','api','api','webhook','schedule','model','webhook','api'])[1 + i % 10] AS src "
            f"FROM generate_series(1, {n}) i) s"
        )
        tenant = f"1 + (wf - 1) % {len(TENANTS)}"
        event_exprs = {
            "id": "md5('e' || i)::uuid",
            "tenant_id": tenant,
            "type": "e_type",
            "source": "src",
            "payload": "p.payload",
            "dedupe_key": "CASE WHEN src = 'webhook' THEN 'evt_' || substr(md5('e' || i), 1, 24) END",
            "trace_id": "md5('t' || i)",
            "raw_body": (
                "CASE WHEN src = 'webhook' AND at > now() - interval '7 days' * %s "
                "THEN convert_to(p.payload::text, 'UTF8') END"
            ),
            "created_at": "at",
        }
        event_exprs["raw_body"] %= raw_days
        insert_select(
            conn,
            "automate_event",
            event_exprs,
            f"{source} CROSS JOIN LATERAL (SELECT {payload} AS payload) p",
        )
        print(f"  events loaded ({time.perf_counter() - started:.0f} s)", flush=True)

        recent = max(1, n // 2000)
        status = (
            f"CASE WHEN i > {n - recent} THEN (CASE WHEN i % 2 = 0 THEN 'pending' ELSE 'running' END) "
            "WHEN i % 50 < 3 THEN 'failed' WHEN i % 50 = 3 THEN 'cancelled' ELSE 'succeeded' END"
        )
        version = f"(wf - 1) * {VERSIONS} + least({VERSIONS}, 1 + floor(i::float * {VERSIONS} / {n}))::int"
        run_source = f"(SELECT *, {status} AS st, {version} AS ver FROM {source}) r"
        finished = "CASE WHEN st IN ('pending', 'running') THEN NULL ELSE at + ((i % 5000) + 80) * interval '1 ms' END"
        run_exprs = {
            "id": "md5('r' || i)::uuid",
            "tenant_id": tenant,
            "workflow_version_id": "ver",
            "event_id": "md5('e' || i)::uuid",
            "idempotency_key": "md5('e' || i)::uuid::text || ':' || ver",
            "status": "st",
            "trace_id": "md5('t' || i)",
            "context": "'{}'::jsonb",
            # A finished run keeps the outputs of its last steps (the Slack answer).
            "outputs": f"CASE WHEN st = 'succeeded' THEN jsonb_build_object('notify', {SLACK}) "
            "ELSE '{}'::jsonb END",
            "error": (
                "CASE WHEN st = 'failed' THEN 'notify: ConnectorError: HTTP 502 from slack.com "
                "(bad gateway) after 4 attempts' WHEN st = 'cancelled' THEN 'Cancelled by operator' "
                "ELSE '' END"
            ),
            "created_at": "at + interval '40 ms'",
            "started_at": "CASE WHEN st = 'pending' THEN NULL ELSE at + interval '45 ms' END",
            "finished_at": finished,
        }
        insert_select(conn, "automate_executionrun", run_exprs, run_source)
        print(f"  runs loaded ({time.perf_counter() - started:.0f} s)", flush=True)

        step_status = (
            "CASE WHEN k = 0 THEN 'succeeded' WHEN st = 'pending' THEN 'pending' "
            "WHEN st = 'running' THEN 'running' ELSE st END"
        )
        step_exprs = {
            "id": "md5('s' || i || ':' || k)::uuid",
            "run_id": "md5('r' || i)::uuid",
            "node_id": "CASE WHEN k = 0 THEN 'trigger' ELSE 'notify' END",
            "attempt": "1",
            "status": step_status,
            # The trigger step's outputs are the (redacted) event payload, as start_run writes.
            "inputs": (
                "CASE WHEN k = 0 THEN '{}'::jsonb ELSE jsonb_build_object('channel', '#ops', "
                "'text', e_type || ' for customer' || (i % 5000) || '@example.com: ' || "
                "((i * 37) % 100000) || ' USD') END"
            ),
            "outputs": f"CASE WHEN k = 0 THEN e.payload WHEN st = 'succeeded' THEN {SLACK} "
            "ELSE '{}'::jsonb END",
            "error": "CASE WHEN k = 1 AND st = 'failed' THEN 'ConnectorError: HTTP 502 from slack.com' ELSE '' END",
            "error_type": "CASE WHEN k = 1 AND st = 'failed' THEN 'ConnectorError' ELSE '' END",
            "traceback": "''",
            "is_current": "true",
            "created_at": "at + interval '40 ms' + k * interval '5 ms'",
            "started_at": "CASE WHEN k = 1 AND st = 'pending' THEN NULL ELSE at + interval '45 ms' END",
            "finished_at": "CASE WHEN k = 0 THEN at + interval '45 ms' ELSE " + finished + " END",
            "duration_ms": "CASE WHEN k = 0 THEN 0 WHEN st IN ('pending', 'running') THEN NULL ELSE (i % 5000) + 30 END",
        }
        insert_select(
            conn,
            "automate_steprun",
            step_exprs,
            f"{run_source} CROSS JOIN generate_series(0, 1) k "
            "JOIN automate_event e ON e.id = md5('e' || i)::uuid",
        )
        print(f"  steps loaded ({time.perf_counter() - started:.0f} s)", flush=True)

        job_status = (
            "CASE WHEN k = 0 THEN 'COMPLETED' WHEN st = 'pending' THEN 'PENDING' "
            "WHEN st = 'running' THEN 'CLAIMED' WHEN st = 'failed' THEN "
            "(CASE WHEN i % 2 = 0 THEN 'DEAD' ELSE 'FAILED' END) ELSE 'COMPLETED' END"
        )
        job_exprs = {
            "id": "2 * i + k",
            "tenant_id": tenant,
            "kind": "CASE WHEN k = 0 THEN 'event' ELSE 'step' END",
            "payload": "'{}'::jsonb",
            "event_id": "CASE WHEN k = 0 THEN md5('e' || i)::uuid END",
            "run_id": "CASE WHEN k = 1 THEN md5('r' || i)::uuid END",
            "node_id": "CASE WHEN k = 1 THEN 'notify' ELSE '' END",
            "status": "js",
            "attempts": "CASE WHEN js IN ('DEAD', 'FAILED') THEN 4 WHEN js = 'PENDING' THEN 0 ELSE 1 END",
            "max_attempts": "4",
            "lost_claims": "0",
            "claims": "CASE WHEN js IN ('DEAD', 'FAILED') THEN 4 WHEN js = 'PENDING' THEN 0 ELSE 1 END",
            "next_attempt_at": "NULL",
            "lease_expires_at": "CASE WHEN js = 'CLAIMED' THEN now() + interval '5 minutes' END",
            "locked_by": "CASE WHEN js = 'CLAIMED' THEN 'worker-1:4242' ELSE '' END",
            "last_error": "CASE WHEN js IN ('DEAD', 'FAILED') THEN 'ConnectorError: HTTP 502 from slack.com' ELSE '' END",
            "trace_id": "md5('t' || i)",
            "created_at": "at + k * interval '40 ms'",
            "updated_at": "at + k * interval '40 ms' + interval '2 s'",
        }
        insert_select(
            conn,
            "automate_outboxjob",
            job_exprs,
            f"(SELECT *, {job_status} AS js FROM {run_source} CROSS JOIN generate_series(0, 1) k) j",
        )
        conn.execute("SELECT setval('automate_outboxjob_id_seq', %s)", [2 * n + 2])
        print(f"  outbox jobs loaded ({time.perf_counter() - started:.0f} s)", flush=True)

        audit_exprs = {
            "id": "a",
            "tenant_id": f"1 + a % {len(TENANTS)}",
            "actor_id": "NULL",
            "actor_repr": "'ops' || (a % 7) || '@example.com'",
            "action": "(ARRAY['workflow.publish','run.replay','run.cancel','secret.set','workflow.save'])[1 + a % 5]",
            "resource_type": "(ARRAY['workflow','run','run','secret','workflow'])[1 + a % 5]",
            "resource_id": "a::text",
            "details": "jsonb_build_object('version', a % 9, 'note', 'changed from the studio')",
            "trace_id": "md5('a' || a)",
            "created_at": f"now() - interval '{SPAN_DAYS} days' + (a::float / {max(1, n // 100)}) * interval '{SPAN_DAYS} days'",
        }
        insert_select(
            conn,
            "automate_auditlogentry",
            audit_exprs,
            f"generate_series(1, {max(1, n // 100)}) a",
        )
        conn.execute("SELECT setval('automate_auditlogentry_id_seq', %s)", [max(1, n // 100) + 1])
        for statement in ddl:
            conn.execute(statement)
        print(f"  indexes built ({time.perf_counter() - started:.0f} s)", flush=True)
        for table in BIG_TABLES:
            conn.execute(f"ALTER TABLE {table} RESET (autovacuum_enabled)")
            conn.execute(f"VACUUM (ANALYZE) {table}")
    print(f"  loaded {n:,} runs in {time.perf_counter() - started:.0f} s", flush=True)


def prepare(db: str, n: int, code: Path, *, reload: bool) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db]).fetchone()
        if exists and not reload:
            with psycopg.connect(url_of(db)) as db_conn:
                row = db_conn.execute("SELECT count(*) FROM automate_executionrun").fetchone()
            if row and row[0] == n:
                print(f"{db}: re-using the loaded data set ({n:,} runs)", flush=True)
                return
        conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db}")
    print(f"{db}: migrating and loading {n:,} runs", flush=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        env=child_env(code, url_of(db)),
        cwd=code,
        check=True,
    )
    load(url_of(db), n)


def sizes(url: str) -> dict[str, tuple[int, int]]:
    """Table (heap + TOAST) and index bytes of the big tables."""
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(
                "SELECT pg_table_size(%s::regclass), pg_indexes_size(%s::regclass)",
                [table, table],
            ).fetchone()
            for table in BIG_TABLES
        }


# --- timing (runs in a child process with Django set up) -------------------------------------

TIMER = r"""
import json, statistics, sys, time, logging
import django
django.setup()
logging.disable(logging.CRITICAL)
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client

repeat = int(sys.argv[1])
User = get_user_model()
user = User._default_manager.filter(is_superuser=True).first()
if user is None:
    fields = {User.USERNAME_FIELD: "bench-admin@example.com" if User.USERNAME_FIELD == "email" else "bench-admin"}
    user = User._default_manager.create_superuser(password="bench-admin-pw-1", **fields)
client = Client()
client.force_login(user)

with connection.cursor() as cur:
    cur.execute("SELECT id, trace_id FROM automate_executionrun ORDER BY created_at DESC LIMIT 1 OFFSET 777")
    run_id, trace = cur.fetchone()
    cur.execute("SELECT min(created_at), max(created_at) FROM automate_executionrun")
    first, last = cur.fetchone()
    cur.execute("SELECT id FROM automate_workflow ORDER BY id")
    workflows = [r[0] for r in cur.fetchall()]
mid = first + (last - first) / 2
since, until = mid.date().isoformat(), (mid.date()).isoformat()

pages = {
    "studio runs": "/studio/runs/",
    "  status=failed": "/studio/runs/?status=failed",
    "  status=succeeded": "/studio/runs/?status=succeeded",
    "  status=pending": "/studio/runs/?status=pending",
    "  workflow (largest)": f"/studio/runs/?workflow={workflows[0]}",
    "  workflow (smallest)": f"/studio/runs/?workflow={workflows[-1]}",
    "  event type": "/studio/runs/?event_type=subscription.cancelled",
    "  date range (1 day)": f"/studio/runs/?since={since}&until={until}",
    "  trace": f"/studio/runs/?trace={trace}",
    "  search run id": f"/studio/runs/?q={run_id}",
    "  page 2 (cursor)": None,
    "  dead letters": "/studio/runs/?view=dead",
    "studio dashboard": "/studio/",
    "studio run page": f"/studio/runs/{run_id}/",
    "admin runs": "/admin/automate/executionrun/",
    "admin runs search": f"/admin/automate/executionrun/?q={trace}",
    "admin runs status": "/admin/automate/executionrun/?status__exact=failed",
    "admin events": "/admin/automate/event/",
    "admin run (steps inline)": f"/admin/automate/executionrun/{run_id}/change/",
    "admin outbox jobs": "/admin/automate/outboxjob/",
    "admin audit": "/admin/automate/auditlogentry/",
}


class DatabaseTime:
    # Sums the time spent in SQL statements (the part that grows with the tables).

    def __init__(self):
        self.ms = 0.0
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.ms += (time.perf_counter() - started) * 1000
            self.count += 1


def time_call(fn):
    samples, db_samples, queries = [], [], 0
    fn()  # warm-up
    for _ in range(repeat):
        db = DatabaseTime()
        with connection.execute_wrapper(db):
            started = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - started) * 1000)
        db_samples.append(db.ms)
        queries = db.count
    return {"ms": statistics.median(samples), "db_ms": statistics.median(db_samples), "queries": queries}


results = {}
for name, url in pages.items():
    if url is None:
        response = client.get("/studio/runs/", secure=True)
        nxt = response.context["next_query"] if response.context and "next_query" in response.context else ""
        url = f"/studio/runs/?{nxt}"
    status = client.get(url, secure=True).status_code
    if status != 200:
        results[name] = {"ms": float("nan"), "db_ms": float("nan"), "queries": 0, "note": f"HTTP {status}"}
        continue
    results[name] = time_call(lambda url=url: client.get(url, secure=True))


class Rollback(Exception):
    pass


def rolled_back(fn):
    def call():
        try:
            with transaction.atomic():
                fn()
                raise Rollback
        except Rollback:
            pass
    return call


from automate.execution.store import default_store
from automate.execution.reaper import OutboxReaper
results["worker claim (10 jobs)"] = time_call(rolled_back(lambda: default_store().claim_batch("bench", 10)))
results["reaper query"] = time_call(rolled_back(lambda: OutboxReaper(stale_threshold_seconds=0).reap_stale_items()))

from automate.management.commands import automate_prune
try:
    from automate.retention.batches import Pruner
except ImportError:  # an older checkout (--code)
    Pruner = None
if Pruner is not None:
    # One batch of 1,000 rows of each table (runs, events, raw bodies, audit), rolled back.
    results["prune batch"] = time_call(rolled_back(lambda: Pruner(batch_size=1000, max_batches=1).run()))
elif hasattr(automate_prune, "prune_batch"):
    results["prune batch"] = time_call(rolled_back(lambda: automate_prune.prune_batch()))
else:
    from io import StringIO
    from django.core.management import call_command
    # No batches: one prune is everything past retention, in one transaction. Timed once,
    # without warm-up, and stopped after 60 s.
    from django.db.utils import OperationalError
    def whole():
        with connection.cursor() as cur:
            cur.execute("SET LOCAL statement_timeout = '60s'")
        call_command("automate_prune", stdout=StringIO())
    started = time.perf_counter()
    try:
        rolled_back(whole)()
        note = "unbatched: the whole prune in one transaction"
    except OperationalError:
        note = "unbatched: the whole prune, stopped at the 60 s timeout"
    results["prune batch"] = {"ms": (time.perf_counter() - started) * 1000, "db_ms": float("nan"), "queries": 0, "note": note}
print("RESULTS " + json.dumps(results))
"""


def prune_beside_workers(code: Path, url: str, events: int) -> dict[str, Any] | None:
    """bench/prune_load.py against ``url``: worker throughput with and without prune batches
    beside it, and the batches' p50/p95 (None when ``code`` has no batched prune)."""
    if not (code / "backend/automate/retention/batches.py").exists():
        return None
    env = {**child_env(code, url), "AUTOMATE_WORKER_MODE": "process"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench/prune_load.py"), str(events)],
        env=env,
        cwd=code,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(done.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"prune beside workers against {url} failed")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULTS "))
    return json.loads(line.removeprefix("RESULTS "))


def report_prune(label: str, figures: dict[str, Any]) -> None:
    alone, beside = figures["worker runs/s alone"], figures["worker runs/s beside prune"]
    print(f"\nprune beside two busy workers ({label}):")
    print(f"  worker throughput alone        {alone:8.1f} runs/s")
    print(
        f"  worker throughput beside prune {beside:8.1f} runs/s  ({beside / max(alone, 0.01):.2f}x)"
    )
    if "worker jobs/s alone" in figures:
        jobs, jobs_beside = figures["worker jobs/s alone"], figures["worker jobs/s beside prune"]
        rows, rows_beside = figures["prune rows/s alone"], figures["prune rows/s beside workers"]
        print(
            f"  worker jobs/s alone / beside   {jobs:8.1f} / {jobs_beside:8.1f}  "
            f"({jobs_beside / max(jobs, 0.01):.2f}x)"
        )
        print(
            f"  prune rows/s alone / beside    {rows:8.0f} / {rows_beside:8.0f}  "
            f"({rows_beside / max(rows, 0.01):.2f}x)"
        )
    for name in ("prune batch alone", "prune batch beside workers"):
        cell = figures[name]
        print(
            f"  {name:30} p50 {cell['p50']:7.1f} ms  p95 {cell['p95']:7.1f} ms  ({cell['batches']} batches of 1,000)"
        )


def run_child(code: Path, url: str, *args: str) -> dict[str, Any]:
    """bench/partition_load.py ARGS against ``url``: its RESULTS (empty for --spread)."""
    env = {**child_env(code, url), "AUTOMATE_WORKER_MODE": "process"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench/partition_load.py"), *args],
        env=env,
        cwd=code,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(done.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"partition_load {' '.join(args)} against {url} failed")
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULTS ")), None)
    return json.loads(line.removeprefix("RESULTS ")) if line else {}


def partitioned_vs_plain(code: Path, db: str, events: int) -> dict[str, dict[str, Any]] | None:
    """Emit/match/prune figures on ``db`` and on a copy of it whose event table is
    partitioned by month (``<db>_part``, made from it as a template, dropped afterwards);
    None when ``code`` has no partitioning."""
    if not (code / "backend/automate/events/partitioning.py").exists():
        return None
    copy = f"{db}_part"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {copy} WITH (FORCE)")
        started = time.perf_counter()
        conn.execute(f"CREATE DATABASE {copy} TEMPLATE {db}")
    run_child(code, url_of(copy), "--spread")
    print(f"{copy}: copied and partitioned in {time.perf_counter() - started:.0f} s", flush=True)
    try:
        return {
            "plain": run_child(code, url_of(db), "plain", str(events)),
            "monthly": run_child(code, url_of(copy), "monthly", str(events)),
        }
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {copy} WITH (FORCE)")


def report_partitioned(label: str, figures: dict[str, dict[str, Any]]) -> None:
    plain, monthly = figures["plain"], figures["monthly"]
    print(f"\nevent table partitioned by month vs plain ({label}):")
    print(f"  {'':26}{'plain':>12}{'monthly':>12}{'ratio':>8}")
    for name in plain:
        a, b = plain[name], monthly.get(name, float("nan"))
        print(f"  {name:26}{a:12.2f}{b:12.2f}{b / a if a else float('nan'):8.2f}")


def time_pages(code: Path, url: str, repeat: int) -> dict[str, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-c", TIMER, str(repeat)],
        env=child_env(code, url),
        cwd=code,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(done.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"timing against {url} failed")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULTS "))
    return json.loads(line.removeprefix("RESULTS "))


# --- report ----------------------------------------------------------------------------------


def mb(n: int) -> str:
    return f"{n / 1_048_576:,.0f} MB"


def report(labels: list[str], results: list[dict[str, dict[str, Any]]]) -> None:
    head = f"{'':28}" + "".join(f"{label + ' ms':>10}{'sql ms':>9}{'q':>4}" for label in labels)
    if len(labels) == 2:
        head += f"{'ratio':>7}{'sql':>7}"
    print(head)
    for name in results[0]:
        line = f"{name:28}"
        for r in results:
            cell = r.get(name, {"ms": float("nan"), "db_ms": float("nan"), "queries": 0})
            line += f"{cell['ms']:10.1f}{cell.get('db_ms', float('nan')):9.1f}{cell['queries']:4d}"
        if len(results) == 2 and name in results[1]:
            a, b = results[0][name], results[1][name]
            line += f"{b['ms'] / max(a['ms'], 0.01):7.1f}"
            line += f"{b.get('db_ms', 0) / max(a.get('db_ms', 0), 0.01):7.1f}"
        notes = {r[name].get("note") for r in results if name in r and r[name].get("note")}
        if notes:
            line += "  (" + "; ".join(sorted(notes)) + ")"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--reload", action="store_true", help="Reload even if loaded.")
    parser.add_argument("--load-only", action="store_true")
    parser.add_argument("--drop", action="store_true", help="Drop the databases and stop.")
    parser.add_argument("--prefix", default="automate_scale_")
    parser.add_argument("--code", type=Path, default=ROOT, help="Checkout to run (default: this).")
    parser.add_argument(
        "--load-events",
        type=int,
        default=2000,
        help="Events the workers drain in the prune-beside-workers figure (0: skip it).",
    )
    parser.add_argument(
        "--partition-events",
        type=int,
        default=2000,
        help="Events emitted and matched on the plain and the partitioned event table "
        "(0: skip that figure).",
    )
    parser.add_argument(
        "--skip-pages", action="store_true", help="Skip the page timings (the figures below only)."
    )
    args = parser.parse_args()
    code = args.code.resolve()
    ns = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    dbs = [f"{args.prefix}{label_of(n)}" for n in ns]
    if args.drop:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            for db in dbs:
                conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        return
    for db, n in zip(dbs, ns, strict=True):
        prepare(db, n, code, reload=args.reload)
    print(f"\ncode: {code}  (git {git_head(code)})")
    print("\nsizes (table incl. TOAST / indexes):")
    for db in dbs:
        print(f"  {db}")
        for table, (heap, idx) in sizes(url_of(db)).items():
            print(f"    {table:26} {mb(heap):>10} {mb(idx):>10}  ({idx / max(heap, 1):.2f}x)")
    if args.load_only:
        return
    results = []
    prune_figures = []
    partition_figures = []
    for db in dbs:
        if not args.skip_pages:
            print(f"timing {db} ...", flush=True)
            results.append(time_pages(code, url_of(db), args.repeat))
            report([db.removeprefix(args.prefix)], results[-1:])
        if args.load_events > 0:
            print(f"prune beside workers on {db} ...", flush=True)
            figures = prune_beside_workers(code, url_of(db), args.load_events)
            if figures is not None:
                prune_figures.append((db.removeprefix(args.prefix), figures))
        if args.partition_events > 0:
            print(f"partitioned vs plain event table on {db} ...", flush=True)
            compared = partitioned_vs_plain(code, db, args.partition_events)
            if compared is not None:
                partition_figures.append((db.removeprefix(args.prefix), compared))
    if results:
        print(
            f"\nmedian of {args.repeat} requests: wall ms, of which SQL ms, and queries per "
            "request\n"
        )
        report([label_of(n) for n in ns], results)
    for label, figures in prune_figures:
        report_prune(label, figures)
    for label, compared in partition_figures:
        report_partitioned(label, compared)


def git_head(code: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() or "?"


if __name__ == "__main__":
    main()
