"""Screening and retest visits; staff may change a donor's status (granted to staff alone, leaving
the other permissions as an administrator set them)."""

from django.db import migrations, models

from clinic.accounts.roles import grant_defaults_for_app


def grant(apps, schema_editor):
    grant_defaults_for_app(apps, "bookings", only=("bookings.manage_donors",))


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0004_reject_reason"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="booking",
            options={
                "ordering": ["start", "id"],
                "permissions": [
                    ("book", "Can book a slot for himself"),
                    ("view_all_bookings", "Can see all bookings"),
                    ("view_donor_identity", "Can see donors' names, phone and ID numbers"),
                    ("manage_bookings", "Can cancel, reschedule, book on behalf and close sessions"),
                    ("review_donation", "Can review donation bookings"),
                    ("review_room", "Can review room bookings"),
                    ("manage_donors", "Can change a donor's status (qualified, retest due, suspended...)"),
                ],
            },
        ),
        migrations.AlterField(
            model_name="booking",
            name="purpose",
            field=models.CharField(
                choices=[
                    ("screening", "screening"),
                    ("donation", "donation"),
                    ("retest", "retest"),
                    ("self_preservation", "self-preservation"),
                ],
                default="donation",
                max_length=20,
            ),
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
