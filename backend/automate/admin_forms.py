"""Forms of the automate admin that check what the studio and publish check."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from automate.triggers.cron import schedule_problems
from automate.workflows.models import Workflow


class WorkflowAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    """The workflow change form; a draft trigger with a schedule that cannot run is refused."""

    class Meta:
        model = Workflow
        fields = [
            "tenant",
            "slug",
            "name",
            "description",
            "is_active",
            "draft_trigger_spec",
            "draft_rule_spec",
            "draft_graph",
            "retention_days",
            "error_workflow",
            "notify_slack_channel",
            "notify_slack_token_secret",
            "notify_email_to",
            "notify_quiet_minutes",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Left out (a form posted by a script, an older page): no quiet period, the default.
        if "notify_quiet_minutes" in self.fields:
            self.fields["notify_quiet_minutes"].required = False

    def clean_notify_quiet_minutes(self) -> int:
        value = self.cleaned_data.get("notify_quiet_minutes")
        return 0 if value is None else int(value)

    def clean_draft_trigger_spec(self) -> Any:
        spec = self.cleaned_data.get("draft_trigger_spec")
        if isinstance(spec, dict) and "schedule" in spec:
            problems = schedule_problems(spec["schedule"])
            if problems:
                raise ValidationError(
                    [f"{problem['field']}: {problem['message']}" for problem in problems]
                )
        return spec

    def clean(self) -> dict[str, Any] | None:
        """The failure settings follow the studio's rules (``automate.failures.settings``):
        the error workflow in the same tenant and not itself, Slack's channel and token
        secret together, valid email addresses."""
        from automate.failures.settings import FailureSettings, failure_problems

        data = super().clean()
        if data is None:
            return data
        tenant = data.get("tenant") or getattr(self.instance, "tenant", None)
        if tenant is None:
            return data
        target = data.get("error_workflow")
        values = FailureSettings(
            error_workflow_id=target.pk if target is not None else None,
            slack_channel=(data.get("notify_slack_channel") or "").strip(),
            slack_token_secret=(data.get("notify_slack_token_secret") or "").strip(),
            email_to=data.get("notify_email_to") or "",
            quiet_minutes=data.get("notify_quiet_minutes") or 0,
        )
        probe = Workflow(pk=self.instance.pk, tenant=tenant)
        for problem in failure_problems(probe, values)[0]:
            # The error workflow's own rules are Workflow.clean's (the same message once).
            if problem["field"] in self.fields and problem["field"] != "error_workflow":
                self.add_error(problem["field"], problem["message"])
        return data
