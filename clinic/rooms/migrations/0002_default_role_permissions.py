"""Grant this app's permissions to the roles that hold them by default (API.md's table)."""

from django.db import migrations

from clinic.accounts.roles import grant_defaults_for_app


def grant(apps, schema_editor):
    grant_defaults_for_app(apps, "rooms")


class Migration(migrations.Migration):
    dependencies = [
        ("rooms", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
