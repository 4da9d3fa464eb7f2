import secrets

from django.db import migrations, models
from django.db.models import F


def existing_questions(apps, schema_editor):
    """Questions asked before links existed get one (their askers never saw it, but staff's answer
    page stays consistent); those already answered are marked texted, so that the sweep does not
    send their askers, perhaps months later, a message about an answer they had."""
    Consultation = apps.get_model("outreach", "Consultation")
    Consultation.objects.filter(answered_at__isnull=False).update(sms_sent_at=F("answered_at"))
    for pk in Consultation.objects.filter(token="").values_list("pk", flat=True).iterator():
        Consultation.objects.filter(pk=pk).update(token=secrets.token_urlsafe(24))


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0003_consultations_faq_promotion_push"),
    ]

    operations = [
        migrations.AddField(
            model_name="consultation",
            name="sms_sent_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="consultation",
            name="token",
            field=models.CharField(blank=True, db_index=True, max_length=43),
        ),
        migrations.RunPython(existing_questions, migrations.RunPython.noop),
    ]
