from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.i18n import JavaScriptCatalog

from studio.access import studio_guard
from studio.views import (
    api_tokens,
    copilot,
    dashboard,
    explorer,
    expressions,
    failure_links,
    failure_settings,
    insights,
    lifecycle,
    notes,
    panels,
    pins,
    rules,
    templates_gallery,
    transfer,
    trigger_panels,
    versions,
)
from studio.views import editor as editor_views

app_name = "studio"

urlpatterns = [
    path(
        "login/",
        studio_guard(
            auth_views.LoginView.as_view(
                template_name="studio/login.html", redirect_authenticated_user=True
            )
        ),
        name="login",
    ),
    path(
        "logout/",
        studio_guard(auth_views.LogoutView.as_view(next_page="studio:login")),
        name="logout",
    ),
    # The studio scripts' translations (window.gettext), in the request's language.
    path(
        "jsi18n/",
        studio_guard(JavaScriptCatalog.as_view(packages=["studio"])),
        name="jsi18n",
    ),
    path("", dashboard.index, name="dashboard"),
    path("api-tokens/", api_tokens.api_tokens, name="api_tokens"),
    path("api-tokens/<int:token_id>/revoke/", api_tokens.revoke_api_token, name="revoke_api_token"),
    path("wizard/", dashboard.new_workflow, name="wizard"),
    path("insights/", insights.tenant_insights, name="insights"),
    path("insights.json", insights.tenant_insights_json, name="insights_json"),
    path(
        "workflows/<int:workflow_id>/insights/",
        insights.workflow_insights,
        name="workflow_insights",
    ),
    path(
        "workflows/<int:workflow_id>/insights.json",
        insights.workflow_insights_json,
        name="workflow_insights_json",
    ),
    path("wizard/from-proposal/", copilot.create_from_proposal, name="wizard_from_proposal"),
    path("wizard/templates/<slug:key>/", templates_gallery.preview, name="template_preview"),
    path("wizard/templates/<slug:key>/use/", templates_gallery.use, name="template_use"),
    path("import/", transfer.import_new, name="import_new"),
    path("copilot/", copilot.propose_new, name="copilot_new"),
    path("copilot/<str:proposal_id>/decision/", copilot.decide_new, name="copilot_new_decision"),
    path("workflows/<int:workflow_id>/copilot/", copilot.propose, name="copilot"),
    path(
        "workflows/<int:workflow_id>/copilot/<str:proposal_id>/decision/",
        copilot.decide,
        name="copilot_decision",
    ),
    path("workflows/<int:workflow_id>/", editor_views.editor, name="editor"),
    path("workflows/<int:workflow_id>/draft.json", editor_views.draft, name="draft"),
    path("workflows/<int:workflow_id>/export.json", transfer.export_file, name="export"),
    path("workflows/<int:workflow_id>/import/", transfer.import_into, name="import_into"),
    path("palette.json", editor_views.palette, name="palette"),
    path("workflows/<int:workflow_id>/notes/render/", notes.render_note, name="note_render"),
    path(
        "workflows/<int:workflow_id>/nodes/<str:node_id>/panel/",
        panels.node_panel,
        name="node_panel",
    ),
    path(
        "workflows/<int:workflow_id>/nodes/<str:node_id>/test/", panels.node_test, name="node_test"
    ),
    path("workflows/<int:workflow_id>/nodes/<str:node_id>/pin/", pins.node_pin, name="node_pin"),
    path(
        "workflows/<int:workflow_id>/nodes/<str:node_id>/preview/",
        expressions.preview,
        name="node_preview",
    ),
    path(
        "workflows/<int:workflow_id>/trigger/webhook/",
        trigger_panels.webhook_panel,
        name="webhook_panel",
    ),
    path(
        "workflows/<int:workflow_id>/trigger/webhook/secret/",
        trigger_panels.webhook_secret,
        name="webhook_secret",
    ),
    path(
        "workflows/<int:workflow_id>/trigger/webhook/deliveries/",
        trigger_panels.webhook_deliveries,
        name="webhook_deliveries",
    ),
    path(
        "workflows/<int:workflow_id>/trigger/schedule/preview/",
        trigger_panels.schedule_preview,
        name="schedule_preview",
    ),
    path("workflows/<int:workflow_id>/rules/", rules.rules_tab, name="rules"),
    path(
        "workflows/<int:workflow_id>/rules/validate/", rules.rules_validate, name="rules_validate"
    ),
    path("workflows/<int:workflow_id>/rules/test/", rules.rules_test, name="rules_test"),
    path(
        "workflows/<int:workflow_id>/rules/backtest/", rules.rules_backtest, name="rules_backtest"
    ),
    path("workflows/<int:workflow_id>/rules/save/", rules.rules_save, name="rules_save"),
    path("workflows/<int:workflow_id>/publish/", versions.publish, name="publish"),
    path("workflows/<int:workflow_id>/history/", versions.history, name="history"),
    path("workflows/<int:workflow_id>/diff/", versions.diff, name="diff"),
    path(
        "workflows/<int:workflow_id>/rollback/<int:version_num>/",
        versions.rollback,
        name="rollback",
    ),
    path("workflows/<int:workflow_id>/status.json", lifecycle.status, name="lifecycle_status"),
    path("workflows/<int:workflow_id>/activate/", lifecycle.activate, name="activate"),
    path("workflows/<int:workflow_id>/deactivate/", lifecycle.deactivate, name="deactivate"),
    path("workflows/<int:workflow_id>/archive/", lifecycle.archive, name="archive"),
    path("workflows/<int:workflow_id>/restore/", lifecycle.restore, name="restore"),
    path(
        "workflows/<int:workflow_id>/failure-settings/",
        failure_settings.failure_settings,
        name="failure_settings",
    ),
    path("runs/", explorer.runs, name="runs"),
    path("runs/dead-letters/<int:job_id>/replay/", explorer.replay_dead_letter, name="replay_job"),
    path("runs/<uuid:run_id>/", explorer.run, name="run"),
    path("runs/<uuid:run_id>/steps/<str:node_id>/", explorer.run_step, name="run_step"),
    path("runs/<uuid:run_id>/retry/", explorer.retry, name="run_retry"),
    path("runs/<uuid:run_id>/resume/", explorer.resume, name="run_resume"),
    path("runs/<uuid:run_id>/cancel/", explorer.cancel, name="run_cancel"),
    path("runs/<uuid:run_id>/failure/", failure_links.run_failure, name="run_failure"),
    path("runs/<uuid:run_id>/rerun-live/", explorer.rerun_live, name="run_rerun_live"),
]
