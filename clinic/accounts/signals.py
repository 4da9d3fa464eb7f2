"""Session logins (admin, pages) are audited like token logins."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from clinic.audit import services as audit
from clinic.audit.models import AuditEvent


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs) -> None:
    audit.record("auth.login", actor=user, obj=user, data={"method": "session"})


@receiver(user_login_failed)
def audit_login_failure(sender, credentials, request=None, **kwargs) -> None:
    # Token logins audit themselves with the reason; this catches the session forms.
    if request is not None and request.path.startswith("/api/"):
        return
    username = str(credentials.get("username", ""))[:64]
    audit.record(
        "auth.login",
        object_type="accounts.user",
        object_id=username,
        outcome=AuditEvent.Outcome.REFUSED,
        reason="bad credentials or locked",
    )
