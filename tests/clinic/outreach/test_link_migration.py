"""outreach 0004 on a database with questions: each gets a private link, and those already
answered are marked texted (the sweep must not text their askers about an old answer)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from clinic.outreach import services

BEFORE = [("outreach", "0003_consultations_faq_promotion_push")]
AFTER = [("outreach", "0004_consultation_link")]


@pytest.mark.django_db(transaction=True)
def test_existing_questions_get_links_and_old_answers_are_not_texted():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("outreach", "Consultation")
    answered = old.objects.create(question="old?", contact="13812345678", answer="yes", answered_at=timezone.now())
    waiting = old.objects.create(question="new?", contact="13812345679")
    try:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps.get_model("outreach", "Consultation")
        rows = {row.pk: row for row in new.objects.all()}
        assert rows[answered.pk].sms_sent_at == rows[answered.pk].answered_at
        assert rows[waiting.pk].sms_sent_at is None
        assert len(rows[answered.pk].token) >= 32 and len(rows[waiting.pk].token) >= 32
        assert rows[answered.pk].token != rows[waiting.pk].token
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert services.send_pending_answer_sms() == 0
