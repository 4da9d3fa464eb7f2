"""Accounts: registration, staff accounts, profiles, role permissions and login lockout."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from clinic import locking
from clinic.accounts import roles
from clinic.accounts.models import DonorProfile, DonorStatus, LoginThrottle, SocketTicket, User
from clinic.accounts.validators import normalize_phone, valid_id_number
from clinic.audit import services as audit
from clinic.errors import Conflict, Invalid, Locked


def _check_password(password: str, user: User | None = None) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise Invalid(
            gettext("The password is too weak."), code="weak_password", fields={"password": list(exc.messages)}
        ) from None


def _clean_phone(phone: str, *, required: bool) -> str:
    if not phone:
        if required:
            raise Invalid(
                gettext("A phone number is required."),
                code="invalid",
                fields={"phone": [gettext("This field is required.")]},
            )
        return ""
    normalized = normalize_phone(phone)
    if normalized is None:
        raise Invalid(
            gettext("The phone number is not valid."),
            code="invalid",
            fields={"phone": [gettext("Enter a valid phone number.")]},
        )
    return normalized


def _clean_id_number(id_number: str) -> str:
    if id_number and not valid_id_number(id_number):
        raise Invalid(
            gettext("The ID number is not valid."),
            code="invalid",
            fields={"id_number": [gettext("Enter an 18-character resident ID number.")]},
        )
    return id_number.upper()


def _username_taken() -> Invalid:
    return Invalid(
        gettext("That username is taken."),
        code="username_taken",
        fields={"username": [gettext("That username is taken.")]},
    )


def _check_username_free(username: str) -> None:
    if User.objects.filter(username__iexact=username).exists():
        raise _username_taken()


@transaction.atomic
def register(
    *,
    username: str,
    password: str,
    phone: str,
    role: str = roles.DONOR,
    email: str = "",
    real_name: str = "",
    id_number: str = "",
) -> User:
    """A donor or self-preservation client signs up; he gets a pseudonymous donor code."""
    if role not in roles.CLIENT_ROLES:
        raise Invalid(
            gettext("Only donor or self_preservation accounts can register."),
            code="invalid",
            fields={"role": [gettext("Choose donor or self_preservation.")]},
        )
    phone = _clean_phone(phone, required=True)
    id_number = _clean_id_number(id_number)
    user = _new_user(username=username, password=password, role=role, email=email, phone=phone)
    purpose = (
        DonorProfile.Purpose.SELF_PRESERVATION if role == roles.SELF_PRESERVATION else DonorProfile.Purpose.DONATION
    )
    # A new donor starts his journey with screening; self-preservation clients have no journey.
    donor_status = None if purpose == DonorProfile.Purpose.SELF_PRESERVATION else DonorStatus.APPLICANT
    _create_profile(user, real_name=real_name, id_number=id_number, purpose=purpose, donor_status=donor_status)
    audit.record("account.registered", actor=user, obj=user, data={"role": role})
    return user


def _new_user(*, username: str, password: str, role: str, email: str, phone: str, is_staff: bool = False) -> User:
    """Create the user in one role; a taken name (even in a race) is a clear 400, never a 500."""
    _check_username_free(username)
    user = User(username=username, email=email, phone=phone, is_staff=is_staff)
    _check_password(password, user)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise _username_taken() from None
    user.groups.add(Group.objects.get(name=role))
    return user


def _create_profile(user: User, **fields: Any) -> DonorProfile:
    # The code is random; a clash is astronomically rare but must not become a 500.
    for _ in range(5):
        try:
            with transaction.atomic():
                return DonorProfile.objects.create(user=user, **fields)
        except IntegrityError:
            continue
    raise Conflict(gettext("Could not allocate a donor code; please try again."), code="try_again")


@transaction.atomic
def create_account(*, actor: User, username: str, password: str, role: str, phone: str = "", email: str = "") -> User:
    """An administrator creates a staff, room manager or administrator account."""
    if role not in roles.STAFF_ROLES:
        raise Invalid(
            gettext("Role must be staff, room_manager or system_admin."),
            code="invalid",
            fields={"role": [gettext("Choose staff, room_manager or system_admin.")]},
        )
    phone = _clean_phone(phone, required=False)
    # is_staff opens the Django admin; what each can do there is still decided by permissions.
    user = _new_user(username=username, password=password, role=role, email=email, phone=phone, is_staff=True)
    audit.record("account.created", actor=actor, obj=user, data={"role": role})
    return user


@transaction.atomic
def update_profile(user: User, changes: dict[str, Any]) -> User:
    """A user edits his own contact details, identity or password."""
    if "password" in changes:
        current = changes.get("current_password") or ""
        if not user.check_password(current):
            raise Invalid(
                gettext("Your current password is needed to set a new one."),
                code="invalid",
                fields={"current_password": [gettext("Enter your current password.")]},
            )
        _check_password(changes["password"], user)
        user.set_password(changes["password"])
    if "email" in changes:
        user.email = changes["email"]
    if "phone" in changes:
        user.phone = _clean_phone(changes["phone"], required=hasattr(user, "donor_profile"))
    user.save()
    profile = getattr(user, "donor_profile", None)
    identity = {k: changes[k] for k in ("real_name", "id_number") if k in changes}
    if identity:
        if profile is None:
            raise Invalid(
                gettext("Only clients have an identity profile."),
                code="invalid",
                fields={k: [gettext("Not applicable to this account.")] for k in identity},
            )
        if "id_number" in identity:
            profile.id_number = _clean_id_number(identity["id_number"])
        if "real_name" in identity:
            profile.real_name = identity["real_name"]
        profile.save()
    audit.record(
        "account.updated", actor=user, obj=user, data={"fields": sorted(k for k in changes if k != "current_password")}
    )
    return user


# --- roles -----------------------------------------------------------------------------


def permission_name(permission: Permission) -> str:
    return f"{permission.content_type.app_label}.{permission.codename}"


def role_permissions() -> list[dict[str, Any]]:
    result = []
    for group in Group.objects.filter(name__in=roles.ROLES).prefetch_related("permissions__content_type"):
        result.append({"name": group.name, "permissions": sorted(permission_name(p) for p in group.permissions.all())})
    order = {name: index for index, name in enumerate(roles.ROLES)}
    return sorted(result, key=lambda item: order[item["name"]])


def _resolve_permissions(names: list[str]) -> list[Permission]:
    wanted = Q(pk__in=[])
    for name in names:
        label, _, codename = name.partition(".")
        wanted |= Q(content_type__app_label=label, codename=codename)
    known = {permission_name(p): p for p in Permission.objects.filter(wanted).select_related("content_type")}
    found = [known[name] for name in names if name in known]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise Invalid(
            gettext("Unknown permissions: %(names)s.") % {"names": ", ".join(unknown)},
            code="unknown_permission",
            fields={"permissions": [gettext("Unknown permission %(name)s.") % {"name": repr(n)} for n in unknown]},
        )
    return found


def permission_names(group: Group) -> list[str]:
    """A role's permissions as "app_label.codename"."""
    return sorted(permission_name(p) for p in group.permissions.select_related("content_type"))


@transaction.atomic
def set_role_permissions(*, actor: User, role: str, names: list[str]) -> list[str]:
    """Replace a role's permissions; users of the role are affected from their next request."""
    group = Group.objects.select_for_update().filter(name=role).first()
    if group is None or role not in roles.ROLES:
        raise Invalid(gettext("Unknown role %(role)s.") % {"role": repr(role)}, code="unknown_role")
    new = _resolve_permissions(list(dict.fromkeys(names)))
    before = permission_names(group)
    group.permissions.set(new)
    # Nobody left able to manage roles would lock the clinic out of its own settings.
    managers = User.objects.filter(is_active=True).filter(
        Q(is_superuser=True)
        | Q(groups__permissions__codename="manage_roles", groups__permissions__content_type__app_label="accounts")
        | Q(user_permissions__codename="manage_roles", user_permissions__content_type__app_label="accounts")
    )
    if not managers.exists():
        transaction.set_rollback(True)
        raise Conflict(gettext("This change would leave nobody able to manage roles."), code="last_role_manager")
    after = sorted(permission_name(p) for p in new)
    audit.record(
        "role.permissions_changed",
        actor=actor,
        object_type="auth.group",
        object_id=group.pk,
        data={"role": role, "added": sorted(set(after) - set(before)), "removed": sorted(set(before) - set(after))},
    )
    return after


# --- login lockout ------------------------------------------------------------------------


def _key(username: str) -> str:
    return (username or "").strip().lower()[:150]


def client_address(request: Any) -> str:
    """The client's address: the proxy's X-Real-IP only when the settings say a proxy that
    overwrites it stands in front (otherwise anyone could set it), else the peer's."""
    meta = getattr(request, "META", {}) if request is not None else {}
    if settings.TRUST_X_REAL_IP and meta.get("HTTP_X_REAL_IP"):
        return str(meta["HTTP_X_REAL_IP"])[:45]
    return str(meta.get("REMOTE_ADDR") or "")[:45]


def _locked(until: timedelta) -> Locked:
    minutes = max(1, int(until.total_seconds() // 60) + 1)
    return Locked(
        ngettext(
            "Too many failed logins for this account. Try again in %(minutes)d minute.",
            "Too many failed logins for this account. Try again in %(minutes)d minutes.",
            minutes,
        )
        % {"minutes": minutes},
        code="account_locked",
    )


def _fresh(row: LoginThrottle, now: datetime) -> LoginThrottle:
    """A lock that has lifted, or a count older than a lock window, starts again from zero."""
    window = timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
    lifted = row.locked_until is not None and row.locked_until <= now
    stale = row.locked_until is None and row.updated is not None and row.updated <= now - window
    if lifted or stale:
        row.failures, row.locked_until = 0, None
    return row


@transaction.atomic
def _admit(key: str, address: str, now: datetime) -> None:
    """Count one login attempt before its password is checked, or refuse it (Locked).

    Under the login lock (the account's row, then the address's), so of any number of attempts
    arriving at once at most LOGIN_MAX_FAILURES per address get their password checked. The
    password itself is checked outside: SQLite's single write lock is never held through a hash."""
    account = _fresh(locking.login_counter(key, LoginThrottle.ACCOUNT), now)
    row = _fresh(locking.login_counter(key, address), now)
    if row.locked_until is not None:
        raise _locked(row.locked_until - now)
    known = row.succeeded_at is not None and row.succeeded_at > now - timedelta(days=settings.LOGIN_KNOWN_ADDRESS_DAYS)
    if account.failures >= settings.LOGIN_ACCOUNT_FAILURES and not known:
        if account.next_try_at is not None and account.next_try_at > now:
            raise Locked(
                gettext("Too many failed logins for this account. Try again in a few seconds."),
                code="account_locked",
            )
        account.next_try_at = now + timedelta(seconds=settings.LOGIN_STRANGER_PAUSE_SECONDS)
    # Counted as failed until the password proves right; the last one allowed arms the lock.
    row.failures += 1
    account.failures += 1
    if row.failures >= settings.LOGIN_MAX_FAILURES:
        row.locked_until = now + timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
    account.save()
    row.save()


@transaction.atomic
def _succeeded(key: str, address: str, now: datetime) -> None:
    LoginThrottle.objects.filter(username=key, address=LoginThrottle.ACCOUNT).update(
        failures=0, next_try_at=None, locked_until=None
    )
    LoginThrottle.objects.filter(username=key, address=address).update(failures=0, locked_until=None, succeeded_at=now)


def guarded_login(username: str, address: str, check: Callable[[], User | None]) -> User | None:
    """`check()` (the password check) under the login lockout: the attempt is counted first and
    refused (Locked, the right password included) when the account is locked for this address;
    a success clears the counts and makes the address a known one."""
    key, now = _key(username), timezone.now()
    _admit(key, address, now)
    user = check()
    if user is not None:
        _succeeded(key, address, timezone.now())
    return user


def purge_expired_login_locks() -> int:
    """Drop the counts nobody needs any more (periodic sweep): lifted or stale, and not the
    record of a login that makes an address a known one."""
    now = timezone.now()
    known = now - timedelta(days=settings.LOGIN_KNOWN_ADDRESS_DAYS)
    window = now - timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
    over = Q(locked_until__lte=now) | Q(locked_until__isnull=True, updated__lte=window)
    deleted, _ = LoginThrottle.objects.filter(over).exclude(succeeded_at__gt=known).delete()
    return deleted


# --- socket tickets ------------------------------------------------------------------------

SOCKET_TICKET_SECONDS = 60


def issue_socket_ticket(user: User) -> SocketTicket:
    """A single-use ticket for `?ticket=` on the notification socket, valid for a minute."""
    return SocketTicket.objects.create(
        key=secrets.token_urlsafe(32), user=user, expires=timezone.now() + timedelta(seconds=SOCKET_TICKET_SECONDS)
    )


def redeem_socket_ticket(key: str) -> User | None:
    """The ticket's active user, once: the ticket is gone after this call, used or expired."""
    ticket = SocketTicket.objects.select_related("user").filter(key=key[:64]).first()
    if ticket is None or not SocketTicket.objects.filter(pk=ticket.pk).delete()[0]:
        return None  # unknown, or redeemed by a concurrent call first
    if ticket.expires <= timezone.now() or not ticket.user.is_active:
        return None
    return ticket.user


def purge_socket_tickets() -> int:
    deleted, _ = SocketTicket.objects.filter(expires__lte=timezone.now()).delete()
    return deleted
