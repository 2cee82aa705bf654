"""Admin pages. Records that are immutable (events, audit entries, published versions) are
read-only here; payloads are shown redacted unless the user may view raw payloads.

Every admin is built on the public admin base classes (``automate.base.admin``, the same
ones a host project uses): each is a ``TenantScopedAdmin``, so non-superusers see and
change only their tenants' rows and state-changing actions need the change permission;
the admins people edit in (tenants, workflows, webhook endpoints) add ``AuditMixin``, so
every add, change and delete made here is in the audit log."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import JSONField, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, gettext_lazy

from automate import (  # noqa: F401  (register admins)
    admin_llm,
    admin_secrets,
    admin_tokens,
    admin_triggers,
    admin_workers,
)
from automate.admin_forms import WorkflowAdminForm
from automate.admin_lifecycle import WORKFLOW_ACTIONS, ArchivedFilter, has_publish_permission
from automate.admin_lists import ExactSearchMixin
from automate.base.admin import AuditMixin, InlineBaseAdmin, TenantScopedAdmin, scoped_choices
from automate.guard.forms import GuardedJSONFormField
from automate.guard.parse import is_whole_number
from automate.models import (
    AuditLogEntry,
    Event,
    ExecutionRun,
    OutboxJob,
    StepRun,
    Tenant,
    Workflow,
    WorkflowVersion,
)
from automate.typing import acting_user


def pretty_json(value: Any, *, redacted: bool = True) -> SafeString:
    """JSON in a <pre> block, redacted by default (format_html escapes it)."""
    from automate.governance.redaction import redact

    shown = redact(value) if redacted else value
    return format_html(
        '<pre style="white-space:pre-wrap;max-width:60em">{}</pre>',
        json.dumps(shown, indent=2, sort_keys=True, default=str),
    )


class ReadOnlyAdmin(TenantScopedAdmin):
    """For records nobody edits by hand (the big tables: events, runs, jobs, audit).

    50 rows a page: Django's change list renders each row's cells and checkbox through
    the template engine (about 1 ms a row on a small server), so 100 rows cost more than
    the 100 ms a list page gets; the queries are keyset-bounded either way (admin_lists)."""

    list_per_page = 50
    # Keeping the list's filters in every row's link costs Django a URL resolve per row
    # (40 ms of a 50-row page here); a record's page links back to the unfiltered list and
    # the browser's Back button returns to the filtered one.
    preserve_filters = False

    def action_checkbox(self, obj: Any) -> SafeString:
        """Django's checkbox column, written out instead of rendered through a form-widget
        template on every row (a third of a 50-row page's render time here); the same HTML
        (tests/integration/admin/test_admin_checkbox.py holds it to Django's)."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            format_html(gettext("Select this object for an action - {}"), str(obj)),
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Tenant)
class TenantAdmin(AuditMixin, TenantScopedAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    filter_horizontal = ["members"]
    prepopulated_fields = {"slug": ["name"]}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Membership grants access to a tenant, and its widget lists every user of the
        # site (other tenants' people included): superusers manage it.
        return [] if request.user.is_superuser else ["members"]


@admin.register(Event)
class EventAdmin(ExactSearchMixin, ReadOnlyAdmin):
    list_display = ["id", "type", "source", "tenant", "dedupe_key", "created_at"]
    list_select_related = ["tenant"]
    # No DISTINCT over the events table: no `source` filter, no date drill-down.
    list_filter = ["tenant", "created_at"]
    # Each field has an index of its own, so the OR of them is a bitmap of index lookups
    # (an event type alone has none: a search by type would read every event).
    exact_search_fields = ("id", "trace_id", "dedupe_key")
    search_help_text = gettext_lazy("An exact event id, trace id or dedupe key.")
    base_fields = ["id", "tenant", "type", "source", "dedupe_key", "trace_id", "created_at"]

    def _payload_field(self, request: HttpRequest) -> str:
        raw = request.user.has_perm("automate.view_raw_payload")
        return "raw_payload_view" if raw else "payload_view"

    # Nothing is editable: with every shown field read-only, the form has no fields.
    exclude = ["payload", "raw_body"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = [*self.base_fields, self._payload_field(request)]
        if request.user.has_perm("automate.view_raw_payload") and obj and obj.raw_body:
            fields.append("raw_body_view")  # kept only with EVENTS["keep_raw_body"]
        return fields

    @admin.display(description=gettext_lazy("payload (redacted)"))
    def payload_view(self, obj: Event) -> SafeString:
        return pretty_json(obj.payload)

    @admin.display(description=gettext_lazy("payload (raw)"))
    def raw_payload_view(self, obj: Event) -> SafeString:
        return pretty_json(obj.payload, redacted=False)

    @admin.display(description="raw body (as received, unredacted)")
    def raw_body_view(self, obj: Event) -> str:
        return bytes(obj.raw_body or b"").decode("utf-8", errors="replace")


class VersionInline(InlineBaseAdmin):
    model = WorkflowVersion
    readonly_fields = ["version_num", "published_at", "published_by", "notes"]
    fields = tuple(readonly_fields)
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[WorkflowVersion]:
        # Workflow and publisher in one join (each row's title names the workflow); the
        # versions' graphs and specs are not shown here.
        queryset = super().get_queryset(request).select_related("workflow", "published_by")
        return queryset.only("workflow__name", *self.readonly_fields)


@admin.register(Workflow)
class WorkflowAdmin(AuditMixin, TenantScopedAdmin):
    form = WorkflowAdminForm
    list_display = ["name", "slug", "tenant", "is_active", "live_version", "updated_at"]
    list_select_related = ["tenant", "live_version__workflow"]
    list_filter = [ArchivedFilter, "is_active", "tenant"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    # Switching on/off and archiving go through the audited actions, not the form.
    readonly_fields = [
        "is_active",
        "archived_at",
        "live_version",
        "draft_revision",
        "created_by",
        "created_at",
        "updated_at",
    ]
    actions = WORKFLOW_ACTIONS
    inlines = [VersionInline]

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return has_publish_permission(request)

    def save_model(self, request: HttpRequest, obj: Workflow, form: Any, change: bool) -> None:
        """Save, and audit a change of the retention or the failure settings as the studio
        does."""
        from automate.failures.settings import FIELDS, audit_failure_settings
        from automate.retention.services import record_retention_change

        before = form.initial.get("retention_days") if change else None
        changed = {
            field: {"old": form.initial.get(field), "new": form.cleaned_data.get(field)}
            for field in FIELDS
            if change and field in form.changed_data
        }
        if changed.get("error_workflow"):
            target = changed["error_workflow"]["new"]
            changed["error_workflow"]["new"] = target.pk if target is not None else None
        super().save_model(request, obj, form, change)
        record_retention_change(workflow=obj, before=before, actor=acting_user(request))
        if changed:
            audit_failure_settings(obj, changed, acting_user(request))

    # Drafts edited here go through the input guard too (and Workflow.clean's limits).
    formfield_overrides = {JSONField: {"form_class": GuardedJSONFormField}}


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(ReadOnlyAdmin):
    list_display = ["workflow", "version_num", "published_at", "published_by"]
    list_select_related = ["workflow", "published_by"]
    list_filter = ["workflow__tenant"]
    search_fields = ["workflow__name", "workflow__slug"]
    readonly_fields = [
        "workflow",
        "version_num",
        "published_at",
        "published_by",
        "notes",
        "trigger_view",
        "rule_view",
        "graph_view",
    ]
    fields = tuple(readonly_fields)

    @admin.display(description=gettext_lazy("trigger spec"))
    def trigger_view(self, obj: WorkflowVersion) -> SafeString:
        return pretty_json(obj.trigger_spec)

    @admin.display(description=gettext_lazy("rule spec"))
    def rule_view(self, obj: WorkflowVersion) -> SafeString:
        return pretty_json(obj.rule_spec)

    @admin.display(description=gettext_lazy("graph"))
    def graph_view(self, obj: WorkflowVersion) -> SafeString:
        return pretty_json(obj.graph)


@admin.action(
    description=gettext_lazy("Replay selected dead-lettered jobs"), permissions=["replay"]
)
def replay_dead_jobs(
    modeladmin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    queryset: QuerySet[OutboxJob],
) -> None:
    from automate.exceptions import AutomateError
    from automate.execution.services import replay_job

    replayed, refused = 0, []
    for job in queryset.order_by("pk"):
        try:
            replay_job(job, actor=acting_user(request))
            replayed += 1
        except AutomateError as exc:
            refused.append(f"#{job.pk}: {exc.message}")
    modeladmin.message_user(
        request, gettext("Replayed %(count)s job(s).") % {"count": replayed}, messages.SUCCESS
    )
    if refused:
        modeladmin.message_user(
            request,
            gettext("Not replayed: %(refusals)s") % {"refusals": "; ".join(refused)},
            messages.WARNING,
        )


@admin.register(OutboxJob)
class OutboxJobAdmin(ExactSearchMixin, ReadOnlyAdmin):
    actions = [replay_dead_jobs]
    ordering = ["-id"]
    list_display = [
        "id",
        "kind",
        "status",
        "attempts",
        "lost_claims",
        "next_attempt_at",
        "locked_by",
        "created_at",
    ]
    list_filter = ["status", "kind"]
    exact_search_fields = ("id",)
    search_help_text = gettext_lazy("An exact job number.")
    readonly_fields = [
        "id",
        "tenant",
        "kind",
        "status",
        "event",
        "run",
        "node_id",
        "attempts",
        "max_attempts",
        "lost_claims",
        "claims",
        "next_attempt_at",
        "lease_expires_at",
        "locked_by",
        "last_error",
        "trace_id",
        "created_at",
        "updated_at",
    ]
    fields = tuple(readonly_fields)

    def has_replay_permission(self, request: HttpRequest) -> bool:
        """Replaying is operating runs: ``automate.operate_run``, as in the studio."""
        return bool(request.user.has_perm("automate.operate_run"))


class StepRunInline(InlineBaseAdmin):
    model = StepRun
    readonly_fields = ["node_id", "attempt", "status", "started_at", "duration_ms", "error"]
    fields = tuple(readonly_fields)
    can_delete = False
    show_change_link = False  # steps have no page of their own

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[StepRun]:
        # The inline shows statuses and errors: not the steps' inputs and outputs.
        return super().get_queryset(request).only("run", *self.readonly_fields)


class RunWorkflowFilter(admin.SimpleListFilter):
    """Runs of one workflow, filtered on the run's own column: the workflow's version ids
    are read first, so the database walks the (workflow_version, created_at) index instead
    of joining the versions and sorting every run of the workflow."""

    title = gettext_lazy("workflow")
    parameter_name = "workflow"

    def lookups(
        self,
        request: HttpRequest,
        model_admin: admin.ModelAdmin,  # type: ignore[type-arg]
    ) -> list[tuple[str, str]]:
        workflows = scoped_choices(request, Workflow.objects.only("name").order_by("name"))
        return [(str(workflow.pk), workflow.name) for workflow in workflows]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[ExecutionRun]
    ) -> QuerySet[ExecutionRun]:
        value = self.value()
        if not value:
            return queryset
        if not is_whole_number(value) or len(value) > 18:
            return queryset.none()
        # Only the user's workflows have versions here (see the studio's runs list).
        versions = scoped_choices(request, WorkflowVersion.objects.filter(workflow_id=int(value)))
        return queryset.filter(workflow_version_id__in=list(versions.values_list("pk", flat=True)))


@admin.register(ExecutionRun)
class ExecutionRunAdmin(ExactSearchMixin, ReadOnlyAdmin):
    list_display = ["id", "workflow_version", "status", "trace_id", "created_at", "finished_at"]
    list_select_related = ["workflow_version__workflow"]
    # Choices from the workflow table (not a DISTINCT over runs); dates as fixed ranges.
    list_filter = ["status", RunWorkflowFilter, "created_at"]
    exact_search_fields = ("id", "trace_id")
    search_help_text = gettext_lazy("An exact run id or trace id.")
    readonly_fields = [
        "id",
        "tenant",
        "workflow_version",
        "event",
        "status",
        "trace_id",
        "created_at",
        "started_at",
        "finished_at",
        "error",
        "outputs_view",
    ]
    fields = tuple(readonly_fields)
    inlines = [StepRunInline]

    @admin.display(description=gettext_lazy("outputs"))
    def outputs_view(self, obj: ExecutionRun) -> SafeString:
        return pretty_json(obj.outputs)


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ExactSearchMixin, ReadOnlyAdmin):
    list_display = ["created_at", "actor_repr", "action", "resource_type", "resource_id"]
    list_filter = ["action", "resource_type", "created_at"]
    exact_search_fields = ("resource_id", "trace_id", "action", "actor_repr")
    search_help_text = gettext_lazy("An exact resource id (a run id…), trace id, action or actor.")
    readonly_fields = [
        "created_at",
        "tenant",
        "actor",
        "actor_repr",
        "action",
        "resource_type",
        "resource_id",
        "trace_id",
        "details_view",
    ]
    fields = tuple(readonly_fields)

    @admin.display(description=gettext_lazy("details"))
    def details_view(self, obj: AuditLogEntry) -> SafeString:
        return pretty_json(obj.details)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest, action_location: Any = None) -> dict[str, Any]:
        return {}  # action_location: Django 6.1 deprecates overrides without it

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditLogEntry]:
        return super().get_queryset(request).select_related("actor", "tenant")


admin.site.site_header = "Django Automate"
admin.site.site_title = "Django Automate"
admin.site.index_title = "Events, workflows and runs"
