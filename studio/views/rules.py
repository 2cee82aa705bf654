"""The rule tester: edit the trigger's rule, test it on a payload, backtest it, save it.

The editor saves the rule as it is typed (``rules_save`` with ``Accept: application/json``
and the draft ``revision``, like the node panels): an invalid rule is answered 400 and
not saved, a revision that is not the draft's 409.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from automate.api.errors import json_error
from automate.governance.redaction import redact
from automate.rules import RuleError, compile_rule
from automate.workflows.limits import limit_problems_of
from automate.workflows.models import Workflow
from studio import services
from studio.access import (
    CHANGE_WORKFLOW,
    needs_permission,
    studio_guard,
    studio_json_guard,
    studio_view,
)
from studio.views.common import draft_changed, event_of, panel, parse_json, pretty, workflow_or_404
from studio.views.panel_autosave import STALE_MESSAGE, stale_draft, wants_json
from studio.views.panel_form import lock_at_revision, posted_revision

TAB = "studio/partials/rules.html"
CHECK = "studio/partials/rule_check.html"
EXPLAIN = "studio/partials/rule_explain.html"
BACKTEST = "studio/partials/rule_backtest.html"
SAVED = "studio/partials/rule_saved.html"
#: Each result of the tab, the hidden field its answer carries (the digest of the rule text
#: it is about) and where it is shown.
RESULTS = (
    ("saved_rule", "rule-save-result"),
    ("tested_rule", "rule-result"),
    ("backtested_rule", "backtest-result"),
)


def _digest(request: HttpRequest) -> str:
    """A short digest of the posted rule text: what a result is about."""
    text = request.POST.get("rule_spec", "").strip()
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _rule_from(request: HttpRequest) -> tuple[Any, str, str]:
    """``(rule, error, path)`` from the posted ``rule_spec`` text; blank is the empty rule."""
    text = request.POST.get("rule_spec", "").strip()
    if not text:
        return {}, "", ""
    rule, problem = parse_json(text, "The rule")
    if problem:
        return None, problem, ""
    over = limit_problems_of(rule_spec=rule)
    if over:
        return None, f"{over[0]['message']}.", ""
    try:
        compile_rule(rule or None)
    except RuleError as exc:
        where = exc.path or "the root"
        message = gettext("The rule is not valid JSONLogic at %(where)s: %(reason)s.")
        return None, message % {"where": where, "reason": exc.reason}, exc.path
    return rule, "", ""


def _with_shown_values(node: dict[str, Any]) -> dict[str, Any]:
    """The explain tree with each node's value as short, redacted JSON (``shown``)."""
    text = json.dumps(redact(node.get("value")), ensure_ascii=False)
    node["shown"] = text if len(text) <= 80 else text[:79] + "…"
    for child in node.get("children") or []:
        _with_shown_values(child)
    return node


def _event_label(workflow: Workflow) -> str:
    spec = workflow.draft_trigger_spec if isinstance(workflow.draft_trigger_spec, dict) else {}
    return str(spec.get("event_type") or "")


@studio_guard
@studio_view
@require_GET
def rules_tab(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """The Rules tab: the rule editor, the tester and the backtest."""
    workflow = workflow_or_404(request, workflow_id)
    recent = list(services.trigger_events(workflow)[: services.RECENT_EVENTS])
    rule_text = ""
    over = limit_problems_of(rule_spec=workflow.draft_rule_spec)
    if over:  # stored before the limits: too deep to show or compile; saving replaces it
        error = gettext("The saved rule cannot be shown: %(problem)s.") % {
            "problem": over[0]["message"]
        }
        path = ""
    else:
        rule_text = pretty(workflow.draft_rule_spec or {})
        try:
            compile_rule(workflow.draft_rule_spec or None)
            error, path = "", ""
        except RuleError as exc:
            error = gettext("The saved rule is not valid JSONLogic at %(where)s: %(reason)s.") % {
                "where": exc.path or "the root",
                "reason": exc.reason,
            }
            path = exc.path
    return panel(
        request,
        TAB,
        {
            "workflow": workflow,
            "rule_text": rule_text,
            "event_type": _event_label(workflow),
            "recent_events": recent,
            "sample_payload": pretty(redact(recent[0].payload)) if recent else "{}",
            "default_limit": services.DEFAULT_BACKTEST,
            "max_limit": services.MAX_BACKTEST,
            "error": error,
            "path": path,
        },
    )


@studio_guard
@studio_view
@require_POST
def rules_validate(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """As-you-type check of the rule text."""
    workflow = workflow_or_404(request, workflow_id)
    _, error, path = _rule_from(request)
    # The save, test and backtest results shown for another text are stale: cleared with
    # the check (out of band). A result says which text it is about; one about this very
    # text stays ("Saved" must not vanish because the check of the same text came later).
    digest = _digest(request)
    stale = [target for field, target in RESULTS if request.POST.get(field, digest) != digest]
    context = {"workflow": workflow, "error": error, "path": path, "stale": stale}
    return panel(request, CHECK, context)


@studio_guard
@studio_view
@require_POST
def rules_test(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """Explain the rule on a pasted payload or one of the recent events."""
    workflow = workflow_or_404(request, workflow_id)
    context: dict[str, Any] = {"workflow": workflow, "digest": _digest(request)}
    rule, error, _ = _rule_from(request)
    if error:
        return panel(request, EXPLAIN, {**context, "error": error})
    event_id = request.POST.get("event_id", "").strip()
    if event_id:
        event = event_of(workflow, event_id)
        if event is None:
            return panel(
                request,
                EXPLAIN,
                {**context, "error": gettext("That event does not exist any more.")},
            )
        payload: Any = event.payload
        context["event"] = event
    else:
        payload, problem = parse_json(
            request.POST.get("payload", "").strip() or "{}", "The test payload"
        )
        if problem:
            return panel(request, EXPLAIN, {**context, "error": problem})
    tree = _with_shown_values(compile_rule(rule or None).explain(payload))
    return panel(request, EXPLAIN, {**context, "tree": tree, "matched": tree["passed"]})


@studio_guard
@studio_view
@require_POST
def rules_backtest(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """How many of the last N events of the trigger's type the rule would have matched."""
    workflow = workflow_or_404(request, workflow_id)
    context: dict[str, Any] = {
        "workflow": workflow,
        "max_limit": services.MAX_BACKTEST,
        "digest": _digest(request),
    }
    rule, error, _ = _rule_from(request)
    if error:
        return panel(request, BACKTEST, {**context, "error": error})
    text = request.POST.get("limit", "").strip() or str(services.DEFAULT_BACKTEST)
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if not 1 <= limit <= services.MAX_BACKTEST:
        return panel(
            request,
            BACKTEST,
            {
                **context,
                "error": gettext("Events to check must be a whole number from 1 to %(max)s.")
                % {"max": services.MAX_BACKTEST},
            },
        )
    if not _event_label(workflow):
        return panel(
            request,
            BACKTEST,
            {
                **context,
                "error": gettext(
                    "Set the trigger's event type first: the backtest replays events of that type."
                ),
            },
        )
    result = services.backtest(workflow=workflow, rule_spec=rule, limit=limit)
    return panel(
        request,
        BACKTEST,
        {**context, "result": result, "limit": limit, "event_type": _event_label(workflow)},
    )


def _missing_field(request: HttpRequest, names: tuple[str, ...]) -> HttpResponse | None:
    """400 ``invalid_request`` naming the first of ``names`` not posted at all: a save
    without the rule is not the empty rule (that is posted as ``{}`` or a blank field)."""
    for name in names:
        if name not in request.POST:
            message = gettext("The request has no %(field)s field: nothing was saved.")
            return json_error(
                request, 400, "invalid_request", message % {"field": name}, {"field": name}
            )
    return None


@studio_view
@require_POST
def rules_save(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """Store the rule in the draft (only a valid rule is stored); answered in JSON when
    JSON is asked for (the editor's rule autosave, ``editor/rule_autosave.js``)."""
    if wants_json(request):
        return _autosave_rule(request, workflow_id)
    return _save_rule_page(request, workflow_id)


# The guard is chosen by what the request asks for, as for the node panel.
rules_save.input_guard = "html"  # type: ignore[attr-defined]


def _store_rule(request: HttpRequest, workflow: Workflow, rule: Any) -> tuple[Workflow, bool]:
    """``(workflow, stale)``: the rule stored in the draft, unless the posted ``revision``
    is not the draft's (then nothing is stored). The same rule again stores nothing and
    keeps the revision, so leaving the editor does not move the draft on."""
    revision = posted_revision(request.POST)
    with transaction.atomic():
        locked, stale = lock_at_revision(workflow, revision)
        if stale:
            return locked, True
        if (locked.draft_rule_spec or {}) == (rule or {}):
            return locked, False
        return services.save_rule(workflow=locked, rule_spec=rule), False


@studio_json_guard
@needs_permission(CHANGE_WORKFLOW, json=True)
def _autosave_rule(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """200 ``{"revision"}``; 400 ``invalid_request`` (``details.field``: ``rule_spec`` or
    ``revision`` missing, or a revision that is not a number), 400 ``invalid_rule``
    (``details.path``: where in the rule), 409 ``stale_draft``; nothing is saved but on a
    200. The revision is required: an autosave is always a compare-and-set."""
    workflow = workflow_or_404(request, workflow_id)
    missing = _missing_field(request, ("rule_spec", "revision"))
    if missing:
        return missing
    if posted_revision(request.POST) is None or posted_revision(request.POST) == -1:
        message = gettext("The draft revision is not a whole number: reload the editor.")
        return json_error(request, 400, "invalid_request", message, {"field": "revision"})
    rule, error, path = _rule_from(request)
    if error:
        return json_error(request, 400, "invalid_rule", error, {"path": path})
    workflow, stale = _store_rule(request, workflow, rule)
    if stale:
        return stale_draft(request, workflow)
    return JsonResponse({"revision": workflow.draft_revision})


@studio_guard
@needs_permission(CHANGE_WORKFLOW)
def _save_rule_page(request: HttpRequest, workflow_id: int) -> HttpResponse:
    workflow = workflow_or_404(request, workflow_id)
    missing = _missing_field(request, ("rule_spec",))
    if missing:
        return missing
    rule, error, path = _rule_from(request)
    digest = _digest(request)
    if not error and posted_revision(request.POST) == -1:
        error = gettext("The draft revision is not a whole number: reload the editor.")
    if error:
        context = {"workflow": workflow, "error": error, "path": path, "digest": digest}
        return panel(request, SAVED, context)
    workflow, stale = _store_rule(request, workflow, rule)
    if stale:
        context = {"workflow": workflow, "error": str(STALE_MESSAGE), "digest": digest}
        return panel(request, SAVED, context, status=400)  # shown, like a refusal
    response = panel(request, SAVED, {"workflow": workflow, "saved": True, "digest": digest})
    return draft_changed(response, workflow)
