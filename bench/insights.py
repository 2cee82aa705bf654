"""The insights requests on a 1,000,000-run PostgreSQL database. Prints figures; asserts nothing.

    .venv/bin/python bench/insights.py [--runs 1000000] [--days 30] [--repeat 7] [--reload]

Loads (once; ``--reload`` to redo) the database ``automate_h_insights_bench`` with
``--runs`` runs over the last ``--days`` days, the worst case for the 30-day range: every
run in the window, 90 % of them in one tenant (``acme``, 10 workflows) and the rest in
``globex`` (2 workflows). Runs are 90 % succeeded, 8 % failed, 2 % cancelled, each with
one event and two steps (``fetch``, ``notify``; ``notify`` failed on failed runs); one run
in 200 has a dead-lettered job. Small objects (tenants, workflows, versions, the user)
are made with the ORM, the big tables with ``INSERT … SELECT generate_series`` and then
``VACUUM ANALYZE``.

Then, in a child process with the standalone site's settings (DEBUG off) and Django's
test client logged in as a member of ``acme`` (its queries carry the tenant filter), it
times the median of ``--repeat`` requests of the dashboard's insights panel and of the
largest workflow's insights page for each range, with the SQL time and query count.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get(
    "AUTOMATE_BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
DB = "automate_h_insights_bench"
URL = ADMIN_URL.rsplit("/", 1)[0] + f"/{DB}"

ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DATABASE_URL": URL,
    "DJANGO_SECRET_KEY": "bench-insights-not-secret",
    "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    "DJANGO_DEBUG": "0",
    "AUTOMATE_LOG_LEVEL": "ERROR",
    "PYTHONWARNINGS": "ignore",
    "PYTHONPATH": f"{ROOT / 'backend'}:{ROOT}",
}

SMALL_OBJECTS = r"""
import django
django.setup()
from django.contrib.auth import get_user_model
from automate.tenants.models import Tenant
from automate.workflows.models import Workflow, WorkflowVersion

graph = {"nodes": [
    {"id": "trigger", "type": "trigger", "label": "When an event arrives"},
    {"id": "fetch", "type": "action", "label": "Fetch the order"},
    {"id": "notify", "type": "action", "label": "Notify Slack"},
], "edges": [{"source": "trigger", "target": "fetch"}, {"source": "fetch", "target": "notify"}]}
User = get_user_model()
user = User._default_manager.create_user(username="bench-member", password="bench-pw-1")
from django.contrib.auth.models import Permission
user.user_permissions.add(Permission.objects.get(codename="use_studio"))
for slug, count in [("acme", 10), ("globex", 2)]:
    tenant = Tenant.objects.create(slug=slug, name=slug.title())
    if slug == "acme":
        tenant.members.add(user)
    for i in range(count):
        wf = Workflow.objects.create(tenant=tenant, slug=f"{slug}-{i}", name=f"{slug} flow {i}",
                                     draft_graph=graph)
        for num in (1, 2):
            WorkflowVersion.objects.create(workflow=wf, version_num=num, graph=graph,
                                           trigger_spec={"event_type": "order.created"})
"""

# Run n is created (n / runs) of the way back; one in ten belongs to one of globex's four
# versions (ids k 20-23), the others to one of acme's twenty (k 0-19).
BIG_TABLES = """
CREATE TEMP TABLE plan AS
SELECT n,
       gen_random_uuid() AS run_id,
       gen_random_uuid() AS event_id,
       v.id AS version_id,
       v.tenant_id,
       now() - (%(days)s * interval '1 day') * (n::float / %(runs)s) AS created,
       CASE WHEN n %% 50 < 45 THEN 'succeeded' WHEN n %% 50 < 49 THEN 'failed'
            ELSE 'cancelled' END AS status,
       (50 + (n::bigint * 7919) %% 2000)::int AS ms
FROM generate_series(1, %(runs)s) AS n
JOIN (
  SELECT row_number() OVER (ORDER BY v.id) - 1 AS k, v.id, w.tenant_id
  FROM automate_workflowversion v JOIN automate_workflow w ON w.id = v.workflow_id
) v ON v.k = CASE WHEN n %% 10 = 0 THEN 20 + (n / 10) %% 4 ELSE (n / 10 + n) %% 20 END;

INSERT INTO automate_event (id, tenant_id, type, source, payload, trace_id, created_at)
SELECT event_id, tenant_id, 'order.created', 'api', '{"id": 1}', md5(n::text), created
FROM plan;

INSERT INTO automate_executionrun (id, tenant_id, workflow_version_id, event_id, status,
  trace_id, outputs, error, created_at, started_at, finished_at)
SELECT run_id, tenant_id, version_id, event_id, status, md5(n::text), '{}', '', created,
  created, CASE WHEN status = 'cancelled' THEN NULL
                ELSE created + ms * interval '1 millisecond' END
FROM plan;

INSERT INTO automate_steprun (id, run_id, node_id, attempt, status, inputs, outputs, error,
  error_type, traceback, is_current, created_at, started_at, finished_at, duration_ms)
SELECT gen_random_uuid(), run_id, node, 1,
  CASE WHEN node = 'notify' AND status = 'failed' THEN 'failed' ELSE 'succeeded' END,
  '{}', '{}', '', '', '', true, created, created, created,
  CASE WHEN node = 'fetch' THEN ms * 2 / 3 ELSE ms / 3 END
FROM plan CROSS JOIN (VALUES ('fetch'), ('notify')) AS s(node)
WHERE status <> 'cancelled';

INSERT INTO automate_outboxjob (tenant_id, kind, run_id, node_id, status, attempts,
  max_attempts, lost_claims, locked_by, last_error, trace_id, created_at, updated_at)
SELECT tenant_id, 'step', run_id, 'notify', 'DEAD', 4, 4, 0, '', 'HTTP 500', '', created,
  created + interval '1 minute'
FROM plan WHERE n %% 200 = 1;
"""

TIMER = r"""
import json, statistics, sys, time, logging
import django
django.setup()
logging.disable(logging.CRITICAL)
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

repeat = int(sys.argv[1])
client = Client()
client.force_login(get_user_model()._default_manager.get(username="bench-member"))
with connection.cursor() as cur:
    cur.execute(
        "SELECT v.workflow_id FROM automate_executionrun r JOIN automate_workflowversion v "
        "ON v.id = r.workflow_version_id WHERE r.created_at > now() - interval '1 day' "
        "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    )
    largest = cur.fetchone()[0]


class DatabaseTime:
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


out = {}
for name, url in [("dashboard panel", "/studio/insights/"),
                  ("workflow page", f"/studio/workflows/{largest}/insights/")]:
    for key in ("24h", "7d", "30d"):
        client.get(f"{url}?range={key}", HTTP_HX_REQUEST="true", secure=True)
        walls, sqls, count = [], [], 0
        for _ in range(repeat):
            timer = DatabaseTime()
            with connection.execute_wrapper(timer):
                started = time.perf_counter()
                response = client.get(f"{url}?range={key}", HTTP_HX_REQUEST="true", secure=True)
                walls.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
            sqls.append(timer.ms)
            count = timer.count
        out[f"{name} {key}"] = [statistics.median(walls), statistics.median(sqls), count]
print(json.dumps(out))
"""


def load(runs: int, days: int) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=ENV, cwd=ROOT, check=True)
    subprocess.run([sys.executable, "-c", SMALL_OBJECTS], env=ENV, cwd=ROOT, check=True)
    started = time.perf_counter()
    with psycopg.connect(URL, autocommit=True) as conn:
        for statement in BIG_TABLES.split(";\n"):
            if statement.strip():
                conn.execute(statement % {"runs": runs, "days": days})  # type: ignore[arg-type]
        conn.execute("VACUUM ANALYZE")
    print(f"loaded {runs:,} runs in {time.perf_counter() - started:.0f} s", flush=True)


def loaded_runs() -> int:
    try:
        with psycopg.connect(URL) as conn:
            row = conn.execute("SELECT count(*) FROM automate_executionrun").fetchone()
            return int(row[0]) if row else 0
    except psycopg.OperationalError:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args()
    if args.reload or loaded_runs() != args.runs:
        load(args.runs, args.days)
    else:
        print(f"{DB}: re-using the loaded data set ({args.runs:,} runs)")
    result = subprocess.run(
        [sys.executable, "-c", TIMER, str(args.repeat)],
        env=ENV,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        sys.exit(result.stderr[-3000:])
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"{'':30} {'ms':>8} {'sql ms':>8} {'q':>3}")
    for name, (wall, sql, count) in figures.items():
        print(f"{name:30} {wall:8.1f} {sql:8.1f} {count:3}")


if __name__ == "__main__":
    main()
