"""Every model of the ``automate`` app, defined in its domain subpackage."""

from automate.api.models import ApiToken
from automate.events.models import Event
from automate.execution.models import ExecutionRun, OutboxJob, StepRun, WorkerProcess
from automate.failures.models import RunFailure
from automate.governance.models import (
    AuditLogEntry,
    LLMBudgetDay,
    LLMUsage,
    RateLimitWindow,
    StoredSecret,
)
from automate.realtime.models import RunLiveSeq
from automate.tenants.models import Tenant
from automate.triggers.models import ScheduleState, WebhookDelivery, WebhookEndpoint
from automate.workflows.models import Workflow, WorkflowVersion

__all__ = [
    "ApiToken",
    "AuditLogEntry",
    "Event",
    "ExecutionRun",
    "LLMBudgetDay",
    "LLMUsage",
    "OutboxJob",
    "RateLimitWindow",
    "RunFailure",
    "RunLiveSeq",
    "ScheduleState",
    "StepRun",
    "StoredSecret",
    "Tenant",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WorkerProcess",
    "Workflow",
    "WorkflowVersion",
]
