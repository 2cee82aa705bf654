from django.contrib import admin

from automate.admin_tenancy import TenantScopedAdmin
from demo_crm.models import Customer, SandboxSlackMessage


@admin.register(Customer)
class CustomerAdmin(TenantScopedAdmin):
    tenant_path = "tenant"  # staff see their own tenants' customers only
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


@admin.register(SandboxSlackMessage)
class SandboxSlackMessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["created_at", "channel", "text"]
