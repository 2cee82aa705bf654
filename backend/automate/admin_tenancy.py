"""The admin's tenant scoping, kept importable under its first name.

``TenantScopedAdmin`` and ``scoped_choices`` live in ``automate.base.admin`` (the public
admin base classes, docs/reference/admin.md); every admin of the ``automate`` app uses
them from there. Which tenant owns a row of each model of the app is written once, in
``automate.tenants.scoping.TENANT_PATHS``.
"""

from __future__ import annotations

from automate.admin_lists import COUNT_CAP
from automate.base.admin.tenancy import TenantScopedAdmin, scoped_choices

__all__ = ["COUNT_CAP", "TenantScopedAdmin", "scoped_choices"]
