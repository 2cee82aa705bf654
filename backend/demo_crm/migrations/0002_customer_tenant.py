"""Customers belong to a tenant (the django_model connector's tenant_field)."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def _existing_customers_to_the_default_tenant(apps: Any, schema_editor: Any) -> None:
    Customer = apps.get_model("demo_crm", "Customer")
    Tenant = apps.get_model("automate", "Tenant")
    if not Customer.objects.exists():
        return
    tenant, _ = Tenant.objects.get_or_create(slug="default", defaults={"name": "Default"})
    Customer.objects.update(tenant=tenant)


class Migration(migrations.Migration):
    dependencies = [
        ("automate", "0001_initial"),
        ("demo_crm", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="tenant",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="demo_customers",
                to="automate.tenant",
            ),
        ),
        migrations.RunPython(_existing_customers_to_the_default_tenant, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="customer",
            name="tenant",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="demo_customers",
                to="automate.tenant",
            ),
        ),
        migrations.AlterField(
            model_name="customer",
            name="stripe_id",
            field=models.CharField(max_length=100),
        ),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.UniqueConstraint(
                fields=("tenant", "stripe_id"), name="demo_crm_customer_tenant_stripe_id"
            ),
        ),
    ]
