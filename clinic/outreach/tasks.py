"""Celery task of consultations: the SMS that tells a visitor his question is answered."""

from __future__ import annotations

from celery import shared_task

from clinic.outreach import services


@shared_task(name="clinic.outreach.tasks.send_answer_sms")
def send_answer_sms(consultation_id: int) -> bool:
    return services.send_answer_sms(consultation_id)
