"""The booking process's task pages are open to both kinds of reviewer: a review task's data no
longer keeps the reviewer's staff-only note, nor a door step's data the user id of who scanned
(both stay in the audit trail). Strip them from tasks recorded before."""

from django.db import migrations

FLOW = "workflows/flows.BookingFlow"
HIDDEN = ("comment", "actor")


def strip_notes(apps, schema_editor):
    Task = apps.get_model("viewflow", "Task")
    tasks = Task.objects.filter(process__flow_class=FLOW).exclude(data=None).only("id", "data")
    for task in tasks.iterator(chunk_size=500):
        data = task.data if isinstance(task.data, dict) else None
        if data and any(key in data for key in HIDDEN):
            task.data = {key: value for key, value in data.items() if key not in HIDDEN}
            task.save(update_fields=["data"])


class Migration(migrations.Migration):
    dependencies = [("workflows", "0001_initial"), ("viewflow", "0015_task_scheduled")]

    operations = [migrations.RunPython(strip_notes, migrations.RunPython.noop)]
