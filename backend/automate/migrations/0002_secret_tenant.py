"""Stored secrets belong to a tenant: unique per (tenant, name) instead of per name.

Existing secrets go to the only tenant when there is exactly one, else to the default
tenant (created if it does not exist yet, as ``get_default_tenant()`` would).
"""

import django.db.models.deletion
from django.db import migrations, models

DEFAULT_TENANT_SLUG = "default"  # automate.tenants.models.DEFAULT_TENANT_SLUG, frozen here


def assign_existing_secrets(apps, schema_editor):
    StoredSecret = apps.get_model("automate", "StoredSecret")
    Tenant = apps.get_model("automate", "Tenant")
    db = schema_editor.connection.alias
    secrets = StoredSecret.objects.using(db).filter(tenant__isnull=True)
    if not secrets.exists():
        return
    tenants = list(Tenant.objects.using(db).order_by("pk")[:2])
    if len(tenants) == 1:
        owner = tenants[0]
    else:
        owner, _ = Tenant.objects.using(db).get_or_create(
            slug=DEFAULT_TENANT_SLUG, defaults={"name": "Default"}
        )
    secrets.update(tenant=owner)
    if schema_editor.connection.vendor == "postgresql":
        # Check the new foreign keys now: PostgreSQL refuses the ALTER TABLE below while
        # deferred constraint checks are pending in the transaction.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("automate", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="storedsecret",
            name="tenant",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="stored_secrets",
                to="automate.tenant",
            ),
        ),
        migrations.RunPython(assign_existing_secrets, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="storedsecret",
            name="tenant",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="stored_secrets",
                to="automate.tenant",
            ),
        ),
        migrations.AlterField(
            model_name="storedsecret",
            name="name",
            field=models.CharField(max_length=128),
        ),
        migrations.AlterModelOptions(
            name="storedsecret",
            options={"ordering": ["tenant", "name"]},
        ),
        migrations.AddConstraint(
            model_name="storedsecret",
            constraint=models.UniqueConstraint(
                fields=("tenant", "name"), name="automate_secret_tenant_name"
            ),
        ),
    ]
