"""Recording audit events."""

from __future__ import annotations

from typing import Any

from django.db import models

from clinic.audit.context import current_request_id
from clinic.audit.models import AuditEvent


def record(
    action: str,
    *,
    actor: Any = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. `actor` may be a user, an anonymous user or None (the system)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=user,
        actor_label=user.get_username() if user else ("anonymous" if actor is not None else "system"),
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id != "" else "",
        outcome=outcome,
        reason=reason[:255],
        request_id=current_request_id.get(),
        data=data or {},
    )
