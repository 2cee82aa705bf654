"""Admin base classes and mixins for a host project's own admins, and the product's.

::

    from automate.base.admin import TenantScopedAdmin, AuditMixin, ExportMixin

    @admin.register(Customer)
    class CustomerAdmin(AuditMixin, ExportMixin, TenantScopedAdmin):
        tenant_field = "tenant"

Base classes: ``BaseModelAdmin``, ``TenantScopedAdmin``, ``AuditableModelAdmin``,
``ImportExportBaseAdmin``, ``SoftDeleteAdmin``, ``InlineBaseAdmin``,
``StackedInlineBaseAdmin``. Mixins: ``ExportMixin``, ``ImportMixin``, ``BulkActionsMixin``,
``AuditMixin``, ``SearchMixin``, ``FilterMixin``, ``PermissionMixin``, ``SoftDeleteMixin``.
Mixins go before the base class. Each class's docstring lists its override points;
docs/reference/admin.md has them all.
"""

from automate.base.admin.audit import AuditableModelAdmin, AuditMixin
from automate.base.admin.bulk import BulkActionsMixin
from automate.base.admin.core import (
    BaseModelAdmin,
    FilterMixin,
    InlineBaseAdmin,
    PermissionMixin,
    SearchMixin,
    StackedInlineBaseAdmin,
)
from automate.base.admin.export import ExportMixin
from automate.base.admin.importing import ImportExportBaseAdmin, ImportMixin
from automate.base.admin.softdelete import SoftDeleteAdmin, SoftDeletedFilter, SoftDeleteMixin
from automate.base.admin.tenancy import TenantScopedAdmin, scoped_choices

__all__ = [
    "AuditMixin",
    "AuditableModelAdmin",
    "BaseModelAdmin",
    "BulkActionsMixin",
    "ExportMixin",
    "FilterMixin",
    "ImportExportBaseAdmin",
    "ImportMixin",
    "InlineBaseAdmin",
    "PermissionMixin",
    "SearchMixin",
    "SoftDeleteAdmin",
    "SoftDeleteMixin",
    "SoftDeletedFilter",
    "StackedInlineBaseAdmin",
    "TenantScopedAdmin",
    "scoped_choices",
]
