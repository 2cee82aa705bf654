from django.contrib import admin

from demo_crm.models import Customer, SandboxSlackMessage


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["stripe_id", "email", "last_invoice", "last_amount_cents", "updated_at"]
    search_fields = ["stripe_id", "email"]


@admin.register(SandboxSlackMessage)
class SandboxSlackMessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["created_at", "channel", "text"]
