"""Two fee items to start from; staff set the real prices (PATCH /api/fee-items/{code}/)."""

from django.db import migrations

FEE_ITEMS = [
    # code, name, amount in fen
    ("self_preservation_collection", "自精保存取精费", 80000),
    ("storage_yearly", "精液冷冻保存年费", 100000),
]


def seed(apps, schema_editor):
    FeeItem = apps.get_model("payments", "FeeItem")
    for code, name, amount_fen in FEE_ITEMS:
        FeeItem.objects.get_or_create(code=code, defaults={"name": name, "amount_fen": amount_fen})


class Migration(migrations.Migration):
    dependencies = [("payments", "0003_orders_reference_booking_provider")]

    # Not undone: by then staff may have edited the items and orders may point at them.
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
