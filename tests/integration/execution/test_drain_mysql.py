"""Real worker processes on MariaDB/MySQL: two share the queue through the SKIP LOCKED
claim, one is killed holding leases, and nothing is lost or run twice but the steps the
dead worker was running (the claim between threads: ``test_outbox``).

Runs in the integration-mariadb tier (``scripts/run-tests``), skipped elsewhere. Each test
migrates a scratch database of its own (``Scratch`` of ``test_drain``).
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from tests.integration.execution.test_drain import Scratch, _kill_one_worker_mid_drain

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mysql_scratch(tmp_path):
    if connection.vendor != "mysql":
        pytest.skip("runs in the MariaDB tier")
    import MySQLdb

    settings = connection.settings_dict
    server = {
        "host": settings["HOST"] or "127.0.0.1",
        "port": int(settings["PORT"] or 3306),
        "user": settings["USER"],
        "password": settings["PASSWORD"] or "",
    }
    name = f"automate_drain_{uuid.uuid4().hex[:8]}"
    admin = MySQLdb.connect(**server)
    admin.cursor().execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    login = server["user"] + (f":{server['password']}" if server["password"] else "")
    scratch = Scratch(
        f"mysql://{login}@{server['host']}:{server['port']}/{name}", tmp_path, lease_seconds=3
    )
    yield scratch
    scratch.stop_workers()
    admin.cursor().execute(f"DROP DATABASE IF EXISTS {name}")
    admin.close()


def test_a_worker_killed_holding_leases_loses_nothing_on_mysql(mysql_scratch):
    _kill_one_worker_mid_drain(mysql_scratch, runs=40, fanout=5)
