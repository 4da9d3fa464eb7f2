"""Donors' journey: every donor who exists already has been donating, so he is qualified;
self-preservation clients have no journey (null)."""

from django.db import migrations, models


def existing_donors_are_qualified(apps, schema_editor):
    DonorProfile = apps.get_model("accounts", "DonorProfile")
    DonorProfile.objects.filter(purpose="donation").update(donor_status="qualified")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_socket_tickets"),
    ]

    operations = [
        migrations.AddField(
            model_name="donorprofile",
            name="donor_status",
            field=models.CharField(
                blank=True,
                choices=[
                    ("applicant", "applicant"),
                    ("qualified", "qualified"),
                    ("retest_due", "retest due"),
                    ("suspended", "suspended"),
                    ("retired", "retired"),
                ],
                max_length=12,
                null=True,
                verbose_name="donor status",
            ),
        ),
        migrations.RunPython(existing_donors_are_qualified, migrations.RunPython.noop),
    ]
