"""/metrics as Prometheus scrapes it (METRICS_EXPORT): parsed with prometheus-client's own
parser, from the networks and with the token the settings allow, and added up across
processes with PROMETHEUS_MULTIPROC_DIR."""

import json
import re
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from automate.execution.models import OutboxJob, WorkerProcess
from automate.governance import budget
from automate.tenants.services import get_default_tenant
from automate.triggers.models import WebhookEndpoint
from automate.webhooks import stripe_signature_header
from tests.factories import make_tenant

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "metrics-token-" + "k" * 32


@pytest.fixture
def exported(settings):
    settings.DJANGO_AUTOMATE = {
        **settings.DJANGO_AUTOMATE,
        "METRICS_EXPORT": True,
        "METRICS": {"allowed_networks": ["127.0.0.1/32", "10.8.0.0/16"], "token": TOKEN},
    }


def scrape(client, **extra):
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_off_by_default_is_a_404(client):
    response = client.get("/metrics")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_database_series_at_scrape_time(client, exported):
    tenant = get_default_tenant()
    old = timezone.now() - timedelta(seconds=90)
    for status, kind in [
        ("PENDING", "step"),
        ("PENDING", "step"),
        ("PENDING", "event"),
        ("CLAIMED", "step"),
        ("DEAD", "step"),
        ("COMPLETED", "step"),
    ]:
        OutboxJob.objects.create(tenant=tenant, kind=kind, status=status)
    OutboxJob.objects.filter(kind="step", status="PENDING").update(created_at=old)
    WorkerProcess.objects.create(
        worker_id="w-live",
        hostname="box",
        started_at=timezone.now(),
        last_heartbeat_at=timezone.now(),
    )
    WorkerProcess.objects.create(
        worker_id="w-dead", hostname="box", started_at=old, last_heartbeat_at=old
    )
    samples = scrape(client)
    assert value(samples, "automate_outbox_jobs", status="PENDING", kind="step") == 2
    assert value(samples, "automate_outbox_jobs", status="PENDING", kind="event") == 1
    assert value(samples, "automate_outbox_jobs", status="CLAIMED", kind="step") == 1
    assert value(samples, "automate_outbox_jobs", status="DEAD", kind="step") == 1
    assert ("automate_outbox_jobs", (("kind", "step"), ("status", "COMPLETED"))) not in samples
    age = value(samples, "automate_outbox_oldest_pending_age_seconds", kind="step")
    assert 89 <= age < 200
    assert value(samples, "automate_outbox_oldest_pending_age_seconds", kind="event") < 30
    assert value(samples, "automate_workers_alive") == 1
    dead_age = value(
        samples, "automate_worker_heartbeat_age_seconds", worker="w-dead", hostname="box"
    )
    assert dead_age >= 89


def test_llm_spend_counts_once_the_ledger_has_it(client, exported):
    make_tenant("acme")
    before = value(
        scrape(client), "automate_llm_spend_dollars_total", provider="openai", model="gpt-test"
    )
    reservation = budget.reserve("acme", Decimal("0.01"))
    budget.record(
        reservation,
        model="gpt-test",
        prompt_tokens=10,
        completion_tokens=5,
        cost_usd=Decimal("0.004"),
    )
    samples = scrape(client)
    spent = value(samples, "automate_llm_spend_dollars_total", provider="openai", model="gpt-test")
    assert spent - before == pytest.approx(0.004)
    assert value(samples, "automate_llm_spend_today_dollars", tenant="acme") == pytest.approx(0.004)


def test_webhook_deliveries_by_result(client, exported, monkeypatch):
    secret = "whsec_0123456789abcdef"
    monkeypatch.setenv("AUTOMATE_STRIPE_WEBHOOK_SECRET", secret)
    WebhookEndpoint.objects.create(
        tenant=make_tenant("acme"),
        slug="stripe",
        name="Stripe",
        scheme="stripe",
        secret_name="STRIPE_WEBHOOK_SECRET",
        source="stripe",
    )
    before = scrape(client)
    body = json.dumps({"id": "evt_1", "type": "invoice.paid", "data": {}}).encode()
    good = stripe_signature_header(secret, body)
    bad = stripe_signature_header("whsec_wrong", body)
    for signature in (good, bad, bad):
        client.post(
            "/hooks/stripe/",
            body,
            content_type="application/json",
            headers={"Stripe-Signature": signature},
        )
    client.post("/hooks/nobody/", body, content_type="application/json")
    after = scrape(client)

    def grew(result):
        name = "automate_webhook_deliveries_total"
        return value(after, name, result=result) - value(before, name, result=result)

    assert grew("verified") == 1
    assert grew("invalid_signature") == 2
    assert grew("unknown_endpoint") == 1


@pytest.mark.parametrize(
    ("address", "authorization", "status"),
    [
        ("127.0.0.1", None, 200),
        ("10.8.3.4", None, 200),
        ("10.9.0.1", None, 403),
        ("203.0.113.7", f"Bearer {TOKEN}", 200),
        ("203.0.113.7", "Bearer wrong", 403),
        ("203.0.113.7", f"Basic {TOKEN}", 403),
        ("not-an-address", None, 403),
    ],
)
def test_who_may_scrape(client, exported, address, authorization, status):
    extra = {"REMOTE_ADDR": address}
    if authorization:
        extra["HTTP_AUTHORIZATION"] = authorization
    response = client.get("/metrics", **extra)
    assert response.status_code == status
    if status == 403:
        body = response.json()
        assert body["code"] == "forbidden"
        assert TOKEN not in response.content.decode()


def test_by_default_no_address_may_scrape_not_even_the_machine_itself(client, settings):
    # Behind nginx on the same machine every visitor comes from 127.0.0.1.
    settings.DJANGO_AUTOMATE = {**settings.DJANGO_AUTOMATE, "METRICS_EXPORT": True}
    for address in ("127.0.0.1", "::1", "10.0.0.1"):
        refused = client.get("/metrics", REMOTE_ADDR=address, HTTP_AUTHORIZATION="Bearer ")
        assert refused.status_code == 403, address


# Several processes (daphne x2 + workers) share PROMETHEUS_MULTIPROC_DIR: each counts in
# its own files, and a scrape in any one of them adds them all up.
COUNT = """
from automate.observability import metrics
metrics.STEPS_FINISHED.labels("succeeded", "http").inc({n})
metrics.STEP_DURATION.labels("http").observe(0.2)
"""
SCRAPE = """
import django; django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from automate.observability import metrics
print(metrics.render()[0].decode())
"""


def test_processes_add_up_through_the_multiprocess_directory(tmp_path):
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{ROOT / 'backend'}:{ROOT}",
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "PROMETHEUS_MULTIPROC_DIR": str(shared),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }

    def python(code):
        result = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    python(COUNT.format(n=3))
    python(COUNT.format(n=4))
    text = python(SCRAPE)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    finished = ("automate_steps_finished_total", (("connector", "http"), ("status", "succeeded")))
    assert samples[finished] == 7
    assert samples[("automate_step_duration_seconds_count", (("connector", "http"),))] == 2
    assert ("automate_outbox_jobs", (("kind", "step"), ("status", "PENDING"))) in samples


def test_the_sample_dashboard_reads_only_metrics_that_exist(client, exported):
    dashboard = json.loads((ROOT / "docs/howto/grafana-dashboard.json").read_text())
    text = client.get("/metrics").content.decode()
    # Every family is described (HELP) even before it has a sample.
    described = set(re.findall(r"^# HELP (automate_\w+)", text, re.MULTILINE))
    used = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            used |= set(re.findall(r"automate_\w+", target["expr"]))
    assert len(used) >= 10
    missing = sorted(name for name in used if re.sub(r"_bucket$", "", name) not in described)
    assert not missing, f"the dashboard reads metrics /metrics does not serve: {missing}"


# --- a worker on a machine of its own serves its own counts ---------------------------------


@pytest.fixture
def worker_processes(transactional_db, tmp_path):
    from django.test import override_settings

    from tests.integration.execution.test_liveness_processes import Workers

    with override_settings(
        DJANGO_AUTOMATE={
            "WORKER_MODE": "process",
            "CONNECTORS": ["tests.support.connectors.TestKitConnector"],
        }
    ):
        group = Workers(tmp_path, {})
        yield group
        group.stop_all()


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_worker_serves_its_own_metrics_on_metrics_port(worker_processes):
    import signal
    import time
    import urllib.request

    port = _free_port()
    process = worker_processes.start("metered", "--metrics-port", str(port))
    deadline = time.monotonic() + 30
    text = ""
    while time.monotonic() < deadline:
        assert process.poll() is None, worker_processes.log("metered")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
                text = answer.read().decode()
        except OSError:
            time.sleep(0.2)
            continue
        if re.search(r"^automate_worker_heartbeats_total [1-9]", text, re.MULTILINE):
            break
        time.sleep(0.2)
    assert re.search(r"^automate_worker_heartbeats_total [1-9]", text, re.MULTILINE), text[-500:]
    # Its own counts only: the database's series are /metrics' alone (no double reports).
    assert "automate_outbox_jobs" not in text
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--metrics-port", "0"], "--metrics-port must be a port number from 1 to 65535"),
        (["--metrics-port", "70000"], "--metrics-port must be a port number from 1 to 65535"),
        (["--metrics-port", "9464", "--metrics-address", "999.1.1.1"], "Cannot serve metrics"),
    ],
)
def test_a_bad_metrics_option_names_the_problem(args, said):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match=re.escape(said)):
        call_command("automate_worker", *args)


def test_the_worker_observes_how_long_claimed_jobs_wait_for_a_thread(settings):
    from django.test import override_settings

    from automate.execution.worker import Worker
    from automate.observability import metrics
    from automate.runtime import emit_event

    def count():
        return metrics.CLAIM_TO_START.labels("event")._sum.get(), sum(
            bucket.get() for bucket in metrics.CLAIM_TO_START.labels("event")._buckets
        )

    with override_settings(
        DJANGO_AUTOMATE={
            "WORKER_MODE": "process",
            "CONNECTORS": ["tests.support.connectors.TestKitConnector"],
        }
    ):
        for i in range(3):
            emit_event("nothing.listens", {"i": i})
        _, before = count()
        Worker(worker_id="metered-inline", concurrency=2, batch_size=2).run(once=True)
    total, after = count()
    assert after - before == 3  # one observation per claimed job
    assert 0 <= total < 60
