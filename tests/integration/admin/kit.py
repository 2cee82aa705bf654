"""Shared set-up of the admin base class tests: two tenants, their staff, the test site
(tests/adminkit) at ``/kit/``."""

from __future__ import annotations

import re

from django.urls import reverse

from tests.adminkit.models import Gadget
from tests.factories import make_tenant, make_user, make_workflow

SECRET = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
BEARER = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZw"


def kit_url(model: str, view: str, *args) -> str:
    return reverse(f"kit:adminkit_{model}_{view}", args=args)


class World:
    def __init__(self):
        self.alpha = make_tenant("alpha")
        self.beta = make_tenant("beta")
        self.alpha_flow = make_workflow(slug="alpha-flow", tenant=self.alpha)
        self.beta_flow = make_workflow(slug="beta-flow", tenant=self.beta)
        self.mine = Gadget.objects.create(tenant=self.alpha, name="alpha-one", status="draft")
        self.theirs = Gadget.objects.create(tenant=self.beta, name="beta-one", status="live")

    def staff(self, client, model: str, *actions: str, tenant=None, name=None):
        """Log in staff of ``tenant`` (alpha) with ``adminkit.<action>_<model>`` perms."""
        perms = [f"adminkit.{action}_{model}" for action in actions]
        perms += [f"adminkit.{action}_part" for action in actions]  # the inlines' rows
        user = make_user(name, staff=True, perms=perms)
        (tenant or self.alpha).members.add(user)
        client.force_login(user)
        return user


def import_errors(response) -> list[str]:
    """The problems an import page lists."""
    page = response.content.decode()
    if "automate-import-errors" not in page:
        return []
    block = page.split("automate-import-errors", 1)[1].split("</ul>", 1)[0]
    return re.findall(r"<li>(.*?)</li>", block)
