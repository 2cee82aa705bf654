from django.apps import AppConfig


class DemoCrmConfig(AppConfig):
    name = "demo_crm"
    verbose_name = "Demo CRM (make run only)"
    default_auto_field = "django.db.models.BigAutoField"
