"""Several processes emit the same dedupe keys at the same instant: one event per key."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from automate.events.models import Event
from automate.execution.models import OutboxJob

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[3]
CHILD = """
import json, os, sys, time
import django
django.setup()
from automate.runtime import emit_event
from django.db import connection
connection.ensure_connection()
print("ready", flush=True)
start = float(sys.stdin.readline())
while time.time() < start:
    time.sleep(0.001)
late = time.time() - start
ids = {f"evt_{i}": emit_event("invoice.paid", {"i": i}, dedupe_key=f"evt_{i}") for i in range(40)}
print(json.dumps({"late": late, "ids": ids}))
"""


def test_concurrent_emits_with_one_key_create_one_event():
    scheme = {"postgresql": "postgres", "mysql": "mysql"}.get(connection.vendor)
    if scheme is None:
        pytest.skip("the race is only meaningful on PostgreSQL, MySQL and MariaDB")
    settings = connection.settings_dict
    url = f"{scheme}://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "AUTOMATE_TEST_DATABASE_URL": url,
        "PYTHONPATH": f"{ROOT / 'backend'}:{ROOT}",
    }
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    # Every child set up and connected (however long a busy machine takes), then one start
    # line half a second ahead for all.
    for child in children:
        assert child.stdout.readline().strip() == "ready"
    start = time.time() + 0.5
    for child in children:
        child.stdin.write(f"{start}\n")
        child.stdin.flush()
    results = []
    for child in children:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0
        report = json.loads(out)
        # Each child was ready before the start line, so they really raced.
        assert report["late"] < 0.5
        results.append(report["ids"])

    assert Event.objects.count() == 40
    assert OutboxJob.objects.count() == 40
    for key in results[0]:
        ids = {r[key] for r in results}
        assert len(ids) == 1, f"{key} produced several events: {ids}"
        assert Event.objects.get(dedupe_key=key).id.hex == ids.pop().replace("-", "")
