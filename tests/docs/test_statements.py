"""Statements of the docs that no example shows, held to the code."""

import re
from pathlib import Path

import pytest
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]
ARROW = "\u203a"  # the docs write "Admin > Django Automate > …" with a single angle quote
PAGES = [ROOT / "README.md", *ROOT.glob("docs/howto/*.md"), *ROOT.glob("docs/reference/*.md")]


@pytest.mark.django_db
def test_run_workflow_returns_a_running_run_when_workers_run_it(settings, monkeypatch):
    """docs/reference/runtime.md: "running" (the docs said "pending")."""
    from automate.runtime import run_workflow
    from tests.docs.given import published_invoice_workflow

    monkeypatch.setenv("AUTOMATE_SLACK_TOKEN", "xoxb-docs-example-token")
    published_invoice_workflow()
    with override_settings(DJANGO_AUTOMATE={**settings.DJANGO_AUTOMATE, "WORKER_MODE": "process"}):
        run = run_workflow("invoice-paid-to-slack", {"data": {"object": {"amount_paid": 5000}}})
    assert run.status == "running"
    assert "running" in (ROOT / "docs/reference/runtime.md").read_text()


@pytest.mark.parametrize("name", ["A.B", "a-b", "a/b", "1ABC"])
def test_secret_names_with_dots_dashes_or_slashes_are_refused(name):
    """docs/reference/templates.md said `_ . - /` were allowed in secret names."""
    from automate.secrets import InvalidSecretRefError, secret_ref_name
    from automate.templates import TemplateError, render_inputs

    with pytest.raises(InvalidSecretRefError):
        secret_ref_name({"$secret": name})
    with pytest.raises((TemplateError, InvalidSecretRefError)):
        render_inputs({"t": f"$secret:{name}"}, {})
    text = (ROOT / "docs/reference/templates.md").read_text()
    assert "`.`, `-` and `/` are refused" in text


@pytest.mark.django_db
def test_every_admin_page_the_docs_name_exists(admin_client):
    """'Django Automate > Webhook endpoints' (written with the docs' angle quote): each
    admin page the docs name is a link of the admin's index."""
    index = admin_client.get("/admin/").content.decode()
    pages = set(re.findall(r"<a href=\"/admin/[^\"]+/\"[^>]*>([^<]+)</a>", index))
    named = set()
    for page in PAGES:
        pattern = rf"(Django Automate|Demo CRM) {ARROW}\s+([^*]+?)\*"
        for _app, models in re.findall(pattern, page.read_text()):
            for model in re.split(rf" {ARROW} | and ", " ".join(models.split())):
                named.add(model.strip(" .*"))
    named.discard("\u2026")
    assert {"Webhook endpoints", "Stored secrets", "Sandbox slack messages"} <= named
    missing = sorted(name for name in named if name not in pages)
    assert not missing, f"the docs name admin pages that do not exist: {missing}"


@pytest.mark.django_db
def test_the_db_backend_without_keys_fails_check_with_e012(settings, monkeypatch):
    """docs/howto/secrets.md: `manage.py check` fails with automate.E012."""
    from django.core import checks

    monkeypatch.delenv("AUTOMATE_SECRETS_KEYS", raising=False)
    settings.DJANGO_AUTOMATE = {**settings.DJANGO_AUTOMATE, "SECRETS": {"backend": "db"}}
    assert "automate.E012" in {m.id for m in checks.run_checks()}
