import pytest

from clinic.audit.context import current_request_id
from clinic.audit.models import AppendOnlyError, AuditEvent
from clinic.audit.services import record


def test_record_stamps_actor_request_id_and_object(people):
    token = current_request_id.set("req-1")
    try:
        event = record("demo.action", actor=people.sam, obj=people.alice, reason="because")
    finally:
        current_request_id.reset(token)
    row = AuditEvent.objects.get(pk=event.pk)
    assert (row.actor, row.actor_label, row.object_type, row.object_id) == (
        people.sam,
        "sam",
        "accounts.user",
        str(people.alice.pk),
    )
    assert (row.request_id, row.reason, row.outcome) == ("req-1", "because", "success")


def test_the_system_is_named_when_there_is_no_actor(db):
    assert record("sweep.ran").actor_label == "system"


def test_events_cannot_be_changed_or_deleted(db):
    event = record("demo.action")
    event.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().update(reason="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().reason == ""


def test_a_session_login_is_audited(people, client):
    from tests.factories import PASSWORD

    client.post("/admin/login/", {"username": "sam", "password": PASSWORD})
    assert AuditEvent.objects.filter(action="auth.login", actor=people.sam, data__method="session").exists()
