from __future__ import annotations

from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from automate.events.models import ImmutableRecordError
from automate.rules import CompiledRule, compile_rule


class Workflow(models.Model):
    """The mutable, editable workflow: a draft plus a pointer to its live version."""

    # Indexed by the unique (tenant, slug) constraint, which leads with it.
    tenant = models.ForeignKey(
        "automate.Tenant", on_delete=models.PROTECT, related_name="workflows", db_index=False
    )
    slug = models.SlugField(max_length=100)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(
        default=True, help_text=_("Inactive workflows match no events and start no runs.")
    )
    # Archived: hidden from the lists, inactive, runs and history kept; restorable.
    archived_at = models.DateTimeField(null=True, blank=True)
    draft_trigger_spec = models.JSONField(default=dict, blank=True)
    draft_rule_spec = models.JSONField(default=dict, blank=True)
    draft_graph = models.JSONField(default=dict, blank=True)
    # Days its finished runs are kept (automate_prune); empty: RETENTION["runs_days"].
    retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Days this workflow's finished runs (with their steps) are kept. Empty: the "
            "site's setting, RETENTION runs_days."
        ),
    )
    # Bumped on every draft save so a stale editor is told instead of overwriting.
    draft_revision = models.PositiveIntegerField(default=0)
    live_version = models.ForeignKey(
        "automate.WorkflowVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # When a run fails (automate.failures): the workflow run with the failed run's details,
    # and who is told. Same tenant only, never itself (checked by the service and clean()).
    error_workflow = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_(
            "Run this workflow's live version when a run fails, with the failed run's details "
            "as its event (type automate.run.failed)."
        ),
    )
    notify_slack_channel = models.CharField(
        max_length=100,
        blank=True,
        help_text=_("Post a message to this Slack channel when a run fails (#ops or C0123…)."),
    )
    notify_slack_token_secret = models.CharField(
        max_length=100,
        blank=True,
        help_text=_("Name of the tenant secret holding the Slack bot token (xoxb-…)."),
    )
    notify_email_to = models.CharField(
        max_length=500,
        blank=True,
        help_text=_("Email these addresses (comma-separated) when a run fails."),
    )
    notify_quiet_minutes = models.PositiveIntegerField(
        default=0,
        help_text=_(
            "After a notification, send no other for this workflow for this many minutes "
            "(0: one notification per failed run)."
        ),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("workflow")
        verbose_name_plural = _("workflows")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="automate_workflow_unique_slug")
        ]
        permissions = [
            ("use_studio", _("Can use the workflow studio")),
            ("publish_workflow", _("Can publish and roll back workflows")),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Model forms (the admin) refuse a draft over the definition limits too."""
        from django.core.exceptions import ValidationError

        from automate.workflows.limits import limit_problems_of

        problems = limit_problems_of(
            trigger_spec=self.draft_trigger_spec,
            rule_spec=self.draft_rule_spec,
            graph=self.draft_graph,
        )
        if problems:
            raise ValidationError([f"{p['field']}: {p['message']}" for p in problems])
        from automate.failures.settings import error_workflow_problem

        problem = error_workflow_problem(self, self.error_workflow)
        if problem:
            raise ValidationError({"error_workflow": problem})


class WorkflowVersion(models.Model):
    """An immutable snapshot of a workflow; runs are pinned to one of these."""

    # Indexed by the unique (workflow, version_num) constraint, which leads with it.
    workflow = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, related_name="versions", db_index=False
    )
    version_num = models.PositiveIntegerField()
    trigger_spec = models.JSONField(
        default=dict,
        help_text=_('What starts it: {"event_type": "invoice.paid", "source": "stripe"}'),
    )
    rule_spec = models.JSONField(
        default=dict, blank=True, help_text=_("JSONLogic; {} matches all.")
    )
    graph = models.JSONField(default=dict, help_text=_("Nodes and edges of the workflow."))
    notes = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    _FROZEN_FIELDS = ("workflow_id", "version_num", "trigger_spec", "rule_spec", "graph")

    class Meta:
        verbose_name = _("workflow version")
        verbose_name_plural = _("workflow versions")
        ordering = ["workflow", "-version_num"]
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "version_num"], name="automate_version_unique_num"
            )
        ]
        indexes = [
            models.Index(fields=["workflow", "published_at"], name="automate_version_published")
        ]

    def __str__(self) -> str:
        return f"{self.workflow} v{self.version_num}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            stored = (
                WorkflowVersion.objects.filter(pk=self.pk)
                .values("published_at", *self._FROZEN_FIELDS)
                .first()
            )
            if stored is not None and stored["published_at"] is not None:
                changed = [f for f in self._FROZEN_FIELDS if stored[f] != getattr(self, f)]
                if changed or stored["published_at"] != self.published_at:
                    raise ImmutableRecordError(
                        f"{self} is published and immutable; publish a new version instead.",
                        details={"changed_fields": changed},
                    )
        super().save(*args, **kwargs)
        self.__dict__.pop("compiled_rule", None)

    @cached_property
    def compiled_rule(self) -> CompiledRule:
        """The rule, validated and compiled once for this version."""
        return compile_rule(self.rule_spec or None)

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class PinnedData(models.Model):
    """Sample data pinned to one node of a workflow's draft, for the studio's tests.

    For the trigger node, ``data`` is an event payload (a JSON object); for a step, its
    output (any JSON value). "Test this step" and the expression preview use it before the
    last run's data. It belongs to the draft only: a published ``WorkflowVersion`` is
    made of ``trigger_spec``, ``rule_spec`` and ``graph`` and never holds it, and the
    workflow file (export/import) leaves it out. Values are stored redacted.
    """

    class Origin(models.TextChoices):
        EVENT = "event", _("an event")
        RUN = "run", _("a run")
        TEST = "test", _("a test of the step")
        EDITED = "edited", _("typed or edited JSON")

    # Indexed by the unique (workflow, node_id) constraint, which leads with it.
    workflow = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, related_name="pins", db_index=False
    )
    node_id = models.CharField(max_length=100)
    data = models.JSONField()
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.EDITED)
    # The event or run it was pinned from ("" for edited JSON and tests).
    origin_id = models.CharField(max_length=64, blank=True)
    pinned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pinned_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("pinned data")
        verbose_name_plural = _("pinned data")
        constraints = [
            models.UniqueConstraint(fields=["workflow", "node_id"], name="automate_pin_unique_node")
        ]

    def __str__(self) -> str:
        return f"{self.workflow} · {self.node_id}"
