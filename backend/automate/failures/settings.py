"""A workflow's "when a run fails" settings: validated, saved and audited together.

``update_failure_settings`` is the one writer (the studio's panel and the admin's form
check with the same rules). Rules:

* the error workflow belongs to the same tenant and is not the workflow itself; a chain
  (A names B, B names A) is allowed: a run started *as* an error workflow's run never
  starts another error workflow (``automate.failures.hook``), so nothing loops;
* Slack needs a channel and the name of a tenant secret holding the bot token, together;
* email recipients are up to ``MAX_RECIPIENTS`` valid addresses, comma-separated;
* the quiet period is 0 to ``MAX_QUIET_MINUTES`` minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext

from automate.governance import audit
from automate.governance.secrets import secret_names
from automate.typing import UserType
from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.models import Workflow

MAX_RECIPIENTS = 10
MAX_QUIET_MINUTES = 7 * 24 * 60

#: The audited fields, in the order the audit entry lists them.
FIELDS = (
    "error_workflow",
    "notify_slack_channel",
    "notify_slack_token_secret",
    "notify_email_to",
    "notify_quiet_minutes",
)


@dataclass(frozen=True)
class FailureSettings:
    """The values of a "when a run fails" form, not yet checked.

    ``error_workflow_id`` is a workflow primary key (None: no error workflow); the strings
    are stripped; ``quiet_minutes`` is in minutes.
    """

    error_workflow_id: int | None = None
    slack_channel: str = ""
    slack_token_secret: str = ""
    email_to: str = ""
    quiet_minutes: int = 0


def error_workflow_problem(workflow: Workflow, error_workflow: Workflow | None) -> str:
    """Why ``error_workflow`` cannot be ``workflow``'s error workflow ("" when it can)."""
    if error_workflow is None:
        return ""
    if workflow.pk is not None and error_workflow.pk == workflow.pk:
        return gettext("A workflow cannot be its own error workflow.")
    if error_workflow.tenant_id != workflow.tenant_id:
        return gettext("The error workflow must belong to the same tenant.")
    return ""


def recipients_of(text: str) -> list[str]:
    """The addresses in a comma-separated list (blank items dropped)."""
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def failure_problems(
    workflow: Workflow, values: FailureSettings
) -> tuple[list[dict[str, str]], Workflow | None]:
    """Every refused value as ``{"field", "message"}``, and the error workflow named (None
    when there is none or it is refused)."""
    problems: list[dict[str, str]] = []
    target = None
    if values.error_workflow_id is not None:
        target = Workflow.objects.filter(
            pk=values.error_workflow_id, tenant_id=workflow.tenant_id
        ).first()
        if target is None:
            # Another tenant's id reads as unknown: ids of other tenants are not disclosed.
            problems.append(
                {
                    "field": "error_workflow",
                    "message": gettext("No such workflow in this workflow's tenant."),
                }
            )
        elif problem := error_workflow_problem(workflow, target):
            problems.append({"field": "error_workflow", "message": problem})
    if bool(values.slack_channel) != bool(values.slack_token_secret):
        problems.append(
            {
                "field": "notify_slack_channel",
                "message": gettext("Slack needs both a channel and the bot token's secret."),
            }
        )
    elif values.slack_token_secret and values.slack_token_secret not in secret_names(
        tenant=workflow.tenant
    ):
        problems.append(
            {
                "field": "notify_slack_token_secret",
                "message": gettext("No secret named %(name)s in this tenant.")
                % {"name": values.slack_token_secret},
            }
        )
    if len(values.slack_channel) > 100:
        problems.append(
            {"field": "notify_slack_channel", "message": gettext("At most 100 characters.")}
        )
    recipients = recipients_of(values.email_to)
    if len(recipients) > MAX_RECIPIENTS or len(values.email_to) > 500:
        problems.append(
            {
                "field": "notify_email_to",
                "message": gettext("At most %(count)d addresses.") % {"count": MAX_RECIPIENTS},
            }
        )
    for address in recipients:
        try:
            validate_email(address)
        except ValidationError:
            problems.append(
                {
                    "field": "notify_email_to",
                    "message": gettext("%(address)s is not an email address.")
                    % {"address": address[:100]},
                }
            )
            break
    if not 0 <= values.quiet_minutes <= MAX_QUIET_MINUTES:
        problems.append(
            {
                "field": "notify_quiet_minutes",
                "message": gettext("Between 0 and %(max)d minutes.") % {"max": MAX_QUIET_MINUTES},
            }
        )
    return problems, target


@transaction.atomic
def update_failure_settings(
    *, workflow: Workflow, values: FailureSettings, actor: UserType | None = None
) -> Workflow:
    """Check and save ``workflow``'s failure settings (audited as
    ``workflow.failure_settings`` with the changed fields' old and new values; the token is
    a secret's name, never its value).

    Raises ``WorkflowValidationError`` (400 ``invalid_workflow``, ``details.problems`` with
    each ``field``) and saves nothing when any value is refused. Saving the same values
    changes and records nothing.
    """
    locked = Workflow.objects.select_related("tenant").select_for_update().get(pk=workflow.pk)
    problems, target = failure_problems(locked, values)
    if problems:
        raise WorkflowValidationError(
            problems,
            message=gettext("The failure settings were not saved: %(problems)s")
            % {"problems": "; ".join(p["message"] for p in problems)},
        )
    new = {
        "error_workflow": target.pk if target else None,
        "notify_slack_channel": values.slack_channel,
        "notify_slack_token_secret": values.slack_token_secret,
        "notify_email_to": ", ".join(recipients_of(values.email_to)),
        "notify_quiet_minutes": values.quiet_minutes,
    }
    old = {
        "error_workflow": locked.error_workflow_id,
        **{field: getattr(locked, field) for field in FIELDS[1:]},
    }
    changed = {f: {"old": old[f], "new": new[f]} for f in FIELDS if old[f] != new[f]}
    if not changed:
        return locked
    locked.error_workflow = target
    for field in FIELDS[1:]:
        setattr(locked, field, new[field])
    locked.save(update_fields=[*FIELDS, "updated_at"])
    audit_failure_settings(locked, changed, actor)
    return locked


def audit_failure_settings(
    workflow: Workflow, changed: dict[str, dict[str, object]], actor: UserType | None
) -> None:
    """Record ``workflow.failure_settings`` with ``{field: {"old", "new"}}`` (redacted)."""
    audit.record(
        action="workflow.failure_settings",
        resource_type="workflow",
        resource_id=workflow.pk,
        actor=actor,
        tenant=workflow.tenant,
        details={"slug": workflow.slug, "changed": changed},
    )
