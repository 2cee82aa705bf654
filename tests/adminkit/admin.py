"""The test admin site: one admin per base class and mixin of ``automate.base.admin``."""

from __future__ import annotations

from django.contrib import admin

from automate.base.admin import (
    AuditableModelAdmin,
    AuditMixin,
    BaseModelAdmin,
    BulkActionsMixin,
    ExportMixin,
    FilterMixin,
    ImportExportBaseAdmin,
    InlineBaseAdmin,
    PermissionMixin,
    SearchMixin,
    SoftDeleteAdmin,
    StackedInlineBaseAdmin,
    TenantScopedAdmin,
)
from tests.adminkit import models
from tests.adminkit.models import Part

site = admin.AdminSite(name="kit")


class PartInline(InlineBaseAdmin):
    model = Part
    fields = ["label", "workflow"]


class StackedPartInline(StackedInlineBaseAdmin):
    model = Part
    fields = ["label", "workflow"]


class PlainAdmin(BaseModelAdmin):
    pass


class ScopedAdmin(AuditMixin, ExportMixin, BulkActionsMixin, TenantScopedAdmin):
    tenant_field = "tenant"
    list_display = ["name", "tenant", "status", "is_active"]
    fields = ["tenant", "workflow", "name", "notes", "api_key", "status", "is_active"]
    inlines = [PartInline]


class AuditedAdmin(AuditableModelAdmin):
    fields = ["tenant", "name", "notes", "api_key", "status", "settings"]


class ImportExportAdmin(ImportExportBaseAdmin, TenantScopedAdmin):
    tenant_field = "tenant"
    import_fields = ("tenant", "name", "notes", "status", "is_active", "workflow")
    import_max_rows = 5


class AuditedImportAdmin(AuditMixin, ImportExportBaseAdmin):
    import_fields = ("tenant", "name", "api_key")


class SoftAdmin(AuditMixin, SoftDeleteAdmin):
    list_display = ["name", "deleted_at"]


class SearchFilterAdmin(SearchMixin, FilterMixin, TenantScopedAdmin):
    tenant_field = "tenant"
    search_fields = ["name"]
    search_lookups = {"status": "status__iexact", "tenant": "tenant__slug"}
    auto_filter_exclude = ("owner",)
    inlines = [StackedPartInline]


class OwnedAdmin(PermissionMixin, BaseModelAdmin):
    owner_field = "owner"


ADMINS = {
    "PlainGadget": PlainAdmin,
    "ScopedGadget": ScopedAdmin,
    "AuditedGadget": AuditedAdmin,
    "ImportGadget": ImportExportAdmin,
    "AuditedImportGadget": AuditedImportAdmin,
    "SoftGadget": SoftAdmin,
    "SearchGadget": SearchFilterAdmin,
    "OwnedGadget": OwnedAdmin,
}

for _name, _admin in ADMINS.items():
    site.register(getattr(models, _name), _admin)
