"""The demo host app's admin, built on the product's public admin base classes the way a
host project's own admin would be (docs/howto/admin.md)."""

from django.contrib import admin

from automate.base.admin import AuditMixin, ImportExportBaseAdmin, TenantScopedAdmin
from demo_crm.models import Customer, SandboxSlackMessage


@admin.register(Customer)
class CustomerAdmin(AuditMixin, ImportExportBaseAdmin, TenantScopedAdmin):
    """Customers: scoped to the user's tenants, audited, exported as CSV or JSON and
    imported from JSON (with a preview before anything is saved)."""

    tenant_field = "tenant"  # staff see their own tenants' customers only
    list_display = [
        "stripe_id",
        "email",
        "tenant",
        "last_invoice",
        "last_amount_cents",
        "updated_at",
    ]
    list_filter = ["tenant"]
    search_fields = ["stripe_id", "email"]
    import_fields = ("tenant", "stripe_id", "email", "last_invoice", "last_amount_cents")


@admin.register(SandboxSlackMessage)
class SandboxSlackMessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["created_at", "channel", "text"]
