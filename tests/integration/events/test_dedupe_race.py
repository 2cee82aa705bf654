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
start = float(sys.argv[1])
from django.db import connection
connection.ensure_connection()
while time.time() < start:
    time.sleep(0.001)
late = time.time() - start
ids = {f"evt_{i}": emit_event("invoice.paid", {"i": i}, dedupe_key=f"evt_{i}") for i in range(40)}
print(json.dumps({"late": late, "ids": ids}))
"""


def test_concurrent_emits_with_one_key_create_one_event():
    if connection.vendor != "postgresql":
        pytest.skip("the race is only meaningful on PostgreSQL")
    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "AUTOMATE_TEST_DATABASE_URL": url,
        "PYTHONPATH": f"{ROOT / 'backend'}:{ROOT}",
    }
    start = time.time() + 8
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(start)], env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
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
