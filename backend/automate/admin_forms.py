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
        ]

    def clean_draft_trigger_spec(self) -> Any:
        spec = self.cleaned_data.get("draft_trigger_spec")
        if isinstance(spec, dict) and "schedule" in spec:
            problems = schedule_problems(spec["schedule"])
            if problems:
                raise ValidationError(
                    [f"{problem['field']}: {problem['message']}" for problem in problems]
                )
        return spec
