"""A tenant's worth of rows that grows on demand: the same pages are counted with 3 rows of
everything, then with 30, and must run the same number of queries."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from automate.events.models import Event
from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.governance.models import AuditLogEntry, LLMBudgetDay, LLMUsage, StoredSecret
from automate.tenants.models import Tenant
from automate.triggers.models import ScheduleState, WebhookEndpoint
from automate.workflows.models import Workflow, WorkflowVersion
from tests.factories import make_published, make_tenant, make_user

TRIGGER = {"event_type": "invoice.paid", "source": "stripe"}
_seq = itertools.count(1)


def node(node_id: str) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "action",
        "connector": "testkit",
        "action": "echo",
        "inputs": {"message": "hi"},
    }


def graph_of(node_ids: list[str]) -> dict[str, Any]:
    nodes = [{"id": "trigger", "type": "trigger"}, *(node(n) for n in node_ids)]
    ids = [n["id"] for n in nodes]
    return {
        "nodes": nodes,
        "edges": [{"source": a, "target": b} for a, b in itertools.pairwise(ids)],
    }


def _has_field(model: Any, name: str) -> bool:
    return any(f.name == name for f in model._meta.get_fields())


class World:
    """One tenant, a member who works in it, one main workflow, run and event that the
    detail pages show, and ``add(n)`` that adds n more of every kind of row."""

    def __init__(self, slug: str = "acme") -> None:
        self.tenant: Tenant = make_tenant(slug)
        self.member = make_user(
            staff=True,
            perms=[
                "automate.use_studio",
                "automate.view_executionrun",
                "automate.change_executionrun",
                "automate.change_workflow",
            ],
        )
        self.tenant.members.add(self.member)
        self.node_ids: list[str] = ["retry"]
        version = make_published(
            slug="main",
            tenant=self.tenant,
            name="Main flow",
            trigger_spec=TRIGGER,
            rule_spec={},
            graph=graph_of(self.node_ids),
        )
        self.workflow: Workflow = version.workflow
        self.version: WorkflowVersion = version
        self.event: Event = self._events(1)[0]
        self.run: ExecutionRun = self._runs([self.event], [version])[0]
        self.size = 0

    # -- rows -------------------------------------------------------------------------

    def _events(self, n: int) -> list[Event]:
        return Event.objects.bulk_create(
            Event(
                tenant=self.tenant,
                type="invoice.paid",
                source="stripe",
                payload={"amount": i, "customer": {"id": f"c{i}"}},
                dedupe_key=f"k{next(_seq)}",
                trace_id=uuid.uuid4().hex,
            )
            for i in range(n)
        )

    def _runs(self, events: list[Event], versions: list[WorkflowVersion]) -> list[ExecutionRun]:
        with_key = _has_field(ExecutionRun, "idempotency_key")
        runs = []
        for i, (event, version) in enumerate(zip(events, itertools.cycle(versions))):
            extra = {"idempotency_key": f"{event.pk}:{version.pk}"} if with_key else {}
            runs.append(
                ExecutionRun(
                    tenant=self.tenant,
                    workflow_version=version,
                    event=event,
                    status=ExecutionRun.Status.FAILED if i % 2 else ExecutionRun.Status.SUCCEEDED,
                    trace_id=event.trace_id,
                    outputs={"big": "x" * 100},
                    error="boom" if i % 2 else "",
                    started_at=timezone.now(),
                    finished_at=timezone.now(),
                    **extra,
                )
            )
        return ExecutionRun.objects.bulk_create(runs)

    def add(self, n: int) -> None:
        """n more workflows (published), versions of the main workflow, events, runs,
        steps of the main run, dead letters, audit entries, LLM ledger rows, secrets,
        webhook endpoints and schedule states."""
        start = self.size
        now = timezone.now()
        new = Workflow.objects.bulk_create(
            Workflow(
                tenant=self.tenant,
                slug=f"wf-{next(_seq)}",
                name=f"Workflow {start + i}",
                draft_trigger_spec=TRIGGER,
                draft_graph=graph_of(["a"]),
            )
            for i in range(n)
        )
        workflows = WorkflowVersion.objects.bulk_create(
            WorkflowVersion(
                workflow=wf,
                version_num=1,
                trigger_spec=TRIGGER,
                rule_spec={},
                graph=graph_of(["a"]),
                published_at=now,
            )
            for wf in new
        )
        for wf, version in zip(new, workflows, strict=True):
            wf.live_version = version
        Workflow.objects.bulk_update(new, ["live_version"])
        WorkflowVersion.objects.bulk_create(
            WorkflowVersion(
                workflow=self.workflow,
                version_num=100 + start + i,
                trigger_spec=TRIGGER,
                rule_spec={},
                graph=graph_of(self.node_ids),
                published_at=now,
            )
            for i in range(n)
        )
        new_nodes = [f"n{start + i}" for i in range(n)]
        self.node_ids += new_nodes
        Workflow.objects.filter(pk=self.workflow.pk).update(draft_graph=graph_of(self.node_ids))
        events = self._events(n)
        runs = self._runs(events, [self.version, *workflows])
        StepRun.objects.bulk_create(
            [StepRun(run=self.run, node_id=node_id, status="succeeded") for node_id in new_nodes]
            + [
                StepRun(run=self.run, node_id="retry", attempt=2 + start + i, status="failed")
                for i in range(n)
            ]
        )
        OutboxJob.objects.bulk_create(
            [
                OutboxJob(
                    tenant=self.tenant,
                    kind=OutboxJob.Kind.STEP,
                    run=run,
                    node_id="a",
                    status=OutboxJob.Status.DEAD,
                    last_error="gave up",
                )
                for run in runs
            ]
            + [
                OutboxJob(tenant=self.tenant, kind=OutboxJob.Kind.EVENT, event=event)
                for event in events
            ]
        )
        AuditLogEntry.objects.bulk_create(
            AuditLogEntry(
                tenant=self.tenant,
                actor=self.member,
                actor_repr=self.member.get_username(),
                action="run.cancel",
                resource_type="execution_run",
                resource_id=str(run.pk),
            )
            for run in runs
        )
        LLMUsage.objects.bulk_create(
            LLMUsage(tenant=self.tenant, day=date.today(), model="gpt", run_id=str(run.pk))
            for run in runs
        )
        LLMBudgetDay.objects.bulk_create(
            LLMBudgetDay(tenant=self.tenant, day=date(2020, 1, 1) + timedelta(days=start + i))
            for i in range(n)
        )
        StoredSecret.objects.bulk_create(
            StoredSecret(
                tenant=self.tenant, name=f"S{start + i}", ciphertext="x", created_by=self.member
            )
            for i in range(n)
        )
        WebhookEndpoint.objects.bulk_create(
            WebhookEndpoint(tenant=self.tenant, slug=f"hook-{next(_seq)}", name="Hook")
            for _ in range(n)
        )
        ScheduleState.objects.bulk_create(
            ScheduleState(workflow=wf.workflow, last_tick_at=now) for wf in workflows
        )
        self.size += n
