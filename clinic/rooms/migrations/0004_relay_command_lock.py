"""PostgreSQL: the board lock behind relay commands, one round trip.

`rooms_relay_command_lock(namespace, module_id, wait_ms)` takes a session-level advisory lock
on one relay module, waiting at most `wait_ms` (lock_timeout for this wait only, then the
caller's own value again). Session-level, so it is released as soon as the command is done,
not when the surrounding transaction ends. Other databases serialise writers otherwise.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION rooms_relay_command_lock(namespace integer, module_id integer, wait_ms integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    previous text := current_setting('lock_timeout');
BEGIN
    PERFORM set_config('lock_timeout', wait_ms || 'ms', true);
    PERFORM pg_advisory_lock(namespace, module_id);
    PERFORM set_config('lock_timeout', previous, true);
END
$$;
"""
DROP = "DROP FUNCTION IF EXISTS rooms_relay_command_lock(integer, integer, integer);"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("rooms", "0003_door_sensor_watch"),
    ]

    operations = [migrations.RunPython(create, drop)]
