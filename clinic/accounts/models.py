"""Users, donor profiles, API tokens and the login attempt counter."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# No 0/O, 1/I/L: codes are read aloud and typed by room managers.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_donor_code() -> str:
    return "D" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(7))


class User(AbstractUser):
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    class Meta:
        permissions = [
            ("manage_users", "Can create staff, room manager and admin accounts"),
            ("manage_roles", "Can assign permissions to roles"),
        ]

    def save(self, *args, **kwargs) -> None:
        """A new password (the API, a password reset, the admin) ends every API token of the user
        but the one the change came with (`keep_token`, set by the caller); his other sessions
        end by themselves (Django's session hash no longer matches)."""
        password_changed = getattr(self, "_password", None) is not None and self.pk is not None
        super().save(*args, **kwargs)
        if password_changed:
            AccessToken.objects.filter(user=self).exclude(key=getattr(self, "keep_token", "") or "").delete()

    @property
    def roles(self) -> list[str]:
        return sorted(group.name for group in self.groups.all())

    @property
    def donor_code(self) -> str | None:
        profile = getattr(self, "donor_profile", None)
        return profile.donor_code if profile else None


class AccessToken(models.Model):
    """One login's API token: each login issues its own, so that a logout or a new password ends
    the ones it should and no other. Unused for TOKEN_IDLE_DAYS it stops working; its last use is
    recorded at most hourly (clinic.accounts.authentication)."""

    key = models.CharField(max_length=40, primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="access_tokens")
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"token of user {self.user_id} from {self.created:%Y-%m-%d}"

    def save(self, *args, **kwargs) -> None:
        if not self.key:
            self.key = self.generate_key()
        super().save(*args, **kwargs)

    @staticmethod
    def generate_key() -> str:
        return secrets.token_hex(20)


class SocketTicket(models.Model):
    """A single-use credential for opening the notification socket (`?ticket=`), valid
    SOCKET_TICKET_SECONDS: no lasting credential in a URL, where access logs keep it."""

    key = models.CharField(max_length=64, primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    expires = models.DateTimeField()

    def __str__(self) -> str:
        return f"socket ticket of user {self.user_id}"


class DonorStatus(models.TextChoices):
    """Where a donor is in his journey: screened first, then donating, retested about six months
    after his first donation. Self-preservation clients have none."""

    APPLICANT = "applicant", _("applicant")
    QUALIFIED = "qualified", _("qualified")
    RETEST_DUE = "retest_due", _("retest due")
    SUSPENDED = "suspended", _("suspended")
    RETIRED = "retired", _("retired")


class DonorProfile(models.Model):
    """A client's identity. Name, phone and ID number need `bookings.view_donor_identity`."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="donor_profile", verbose_name=_("user"))

    class Purpose(models.TextChoices):
        DONATION = "donation", _("donation")
        SELF_PRESERVATION = "self_preservation", _("self-preservation")

    donor_code = models.CharField(
        max_length=12, unique=True, default=new_donor_code, editable=False, verbose_name=_("donor code")
    )
    # What his bookings are for: a donor donates, a self-preservation client stores his own.
    purpose = models.CharField(
        max_length=20, choices=Purpose.choices, default=Purpose.DONATION, verbose_name=_("purpose")
    )
    real_name = models.CharField(_("real name"), max_length=100, blank=True)
    id_number = models.CharField(_("ID number"), max_length=18, blank=True)
    # A donor's journey (None for self-preservation clients): set by staff, and by beat when his
    # retest is due (clinic.bookings.journey).
    donor_status = models.CharField(
        _("donor status"), max_length=12, choices=DonorStatus.choices, null=True, blank=True
    )
    created = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    class Meta:
        verbose_name = _("donor profile")
        verbose_name_plural = _("donor profiles")

    def __str__(self) -> str:
        return self.donor_code


class LoginThrottle(models.Model):
    """Login attempts per (username, client address), counted before the password is checked; a
    lock lifts at `locked_until`. The row with address "*" counts the account's failures from
    every address (and paces strangers once there are many: `next_try_at`). `succeeded_at`: the
    last login from this address, which makes it a known one for a while."""

    ACCOUNT = "*"

    username = models.CharField(max_length=150, verbose_name=_("username"))
    address = models.CharField(max_length=45, default="", verbose_name=_("address"))
    failures = models.PositiveIntegerField(default=0, verbose_name=_("failures"))
    locked_until = models.DateTimeField(null=True, blank=True, verbose_name=_("locked until"))
    next_try_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next try at"))
    succeeded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("succeeded at"))
    updated = models.DateTimeField(auto_now=True, verbose_name=_("updated"))

    class Meta:
        verbose_name = _("login lock")
        verbose_name_plural = _("login locks")
        constraints = [models.UniqueConstraint(fields=["username", "address"], name="login_throttle_per_address")]
