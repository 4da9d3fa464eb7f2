"""A donor's journey: screening, qualified, donations, a retest about six months after his first
donation; what each status lets him book, staff's changes to it, and beat's retest rule.

Self-preservation clients have no journey (`donor_status` null): they book self-preservation.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic.accounts.models import DonorProfile, DonorStatus, User
from clinic.audit import services as audit
from clinic.bookings.models import COLLECTION_PURPOSES, Booking, Purpose, Status
from clinic.errors import Conflict, Invalid, NotFound

ALLOWED_PURPOSES: dict[str, tuple[str, ...]] = {
    DonorStatus.APPLICANT: (Purpose.SCREENING,),
    DonorStatus.QUALIFIED: (Purpose.DONATION,),
    DonorStatus.RETEST_DUE: (Purpose.RETEST,),
    DonorStatus.SUSPENDED: (),
    DonorStatus.RETIRED: (),
}

_REFUSALS: dict[str, Promise] = {
    DonorStatus.APPLICANT: gettext_lazy(
        "Your first visit is a screening: book a screening slot. Donations open once the staff have qualified you."
    ),
    DonorStatus.QUALIFIED: gettext_lazy("You are qualified to donate: book a donation."),
    DonorStatus.RETEST_DUE: gettext_lazy("Your retest is due: book a retest visit before your next donation."),
    DonorStatus.SUSPENDED: gettext_lazy("Your donations are suspended for now. Please ask the staff."),
    DonorStatus.RETIRED: gettext_lazy("Your donor account is closed. Please ask the staff if this is wrong."),
}


class PurposeNotAllowed(Conflict):
    code = "purpose_not_allowed"
    default_message = gettext_lazy("That kind of visit cannot be booked for this client.")


def status_of(profile: DonorProfile) -> str | None:
    """The donor's status; None for a self-preservation client. A donor profile made without one
    (an administrator's, outside registration) is at the start of the journey."""
    if profile.purpose == DonorProfile.Purpose.SELF_PRESERVATION:
        return None
    return profile.donor_status or DonorStatus.APPLICANT


def allowed_purposes(profile: DonorProfile) -> tuple[str, ...]:
    status = status_of(profile)
    return (Purpose.SELF_PRESERVATION,) if status is None else ALLOWED_PURPOSES[status]


def purpose_for(profile: DonorProfile, requested: str | None = None) -> str:
    """The booking's purpose: the one asked for if the client's status allows it, else the one his
    status allows; 409 purpose_not_allowed when there is none."""
    allowed = allowed_purposes(profile)
    if requested is None and allowed:
        return allowed[0]
    if requested in allowed:
        return requested
    status = status_of(profile)
    if status is None:
        raise PurposeNotAllowed(_("Bookings of a self-preservation client are for self-preservation."))
    raise PurposeNotAllowed(str(_REFUSALS[status]))


_NEXT_STEPS: dict[str, Promise] = {
    DonorStatus.APPLICANT: gettext_lazy("Your first visit is a screening: choose a time for it."),
    DonorStatus.QUALIFIED: gettext_lazy("You are qualified: choose a time for your next donation."),
    DonorStatus.RETEST_DUE: gettext_lazy("Your retest is due: choose a time for it before your next donation."),
    DonorStatus.SUSPENDED: _REFUSALS[DonorStatus.SUSPENDED],
    DonorStatus.RETIRED: _REFUSALS[DonorStatus.RETIRED],
}


def next_step(profile: DonorProfile) -> str:
    """What the donor's status means for him, in a sentence (empty for self-preservation)."""
    status = status_of(profile)
    return str(_NEXT_STEPS[status]) if status else ""


# --- the abstinence interval -------------------------------------------------------------


class TooSoonAfterLastDonation(Conflict):
    code = "too_soon_after_last_donation"


def visits_near(
    donor: User, profile: DonorProfile, first: datetime, last: datetime, *, ignore: int | None = None
) -> list[datetime]:
    """The starts of a donor's collection visits (done or in progress) close enough to the period
    from `first` to `last` to hold the abstinence interval against a slot in it; none for a
    self-preservation client or with the rule off."""
    if profile.purpose != DonorProfile.Purpose.DONATION or not settings.MIN_DAYS_BETWEEN_DONATIONS:
        return []
    window = timedelta(days=settings.MIN_DAYS_BETWEEN_DONATIONS)
    visits = Booking.objects.filter(
        donor=donor,
        purpose__in=COLLECTION_PURPOSES,
        status__in=[Status.COMPLETED, Status.IN_PROGRESS],
        start__gt=first - window,
        start__lt=last + window,
    )
    if ignore is not None:
        visits = visits.exclude(pk=ignore)
    return list(visits.values_list("start", flat=True))


def earliest_after(visits: list[datetime], start: datetime) -> datetime | None:
    """None if a slot at `start` keeps the abstinence interval from every visit; else the
    earliest time it could start (the interval counts every collection visit)."""
    window = timedelta(days=settings.MIN_DAYS_BETWEEN_DONATIONS)
    near = [visit for visit in visits if abs(visit - start) < window]
    return max(near) + window if near else None


def check_interval(visits: list[datetime], start: datetime) -> None:
    earliest = earliest_after(visits, start)
    if earliest is not None:
        raise TooSoonAfterLastDonation(
            _("Donations must be at least %(days)d days apart. The earliest you can book is %(earliest)s.")
            % {
                "days": settings.MIN_DAYS_BETWEEN_DONATIONS,
                "earliest": f"{timezone.localtime(earliest):%Y-%m-%d %H:%M}",
            }
        )


# --- staff: find a donor, change his status -----------------------------------------------


def with_donations(profiles: QuerySet[DonorProfile]) -> QuerySet[DonorProfile]:
    """Each profile with `donations` (completed donation visits) and `last_donation` (its start)."""
    done = Q(user__bookings__purpose=Purpose.DONATION, user__bookings__status=Status.COMPLETED)
    return profiles.annotate(
        donations=Count("user__bookings", filter=done), last_donation=Max("user__bookings__start", filter=done)
    )


def search(query: str) -> QuerySet[DonorProfile]:
    """Clients by donor code, phone or name (any part of each); newest first."""
    profiles = DonorProfile.objects.select_related("user")
    query = query.strip()
    if query:
        profiles = profiles.filter(
            Q(donor_code__icontains=query) | Q(user__phone__icontains=query) | Q(real_name__icontains=query)
        )
    return with_donations(profiles).order_by("-created", "-pk")


def get_profile(donor_code: str) -> DonorProfile:
    profile = with_donations(DonorProfile.objects.select_related("user").filter(donor_code=donor_code.upper())).first()
    if profile is None:
        raise NotFound(_("No client with that donor code."))
    return profile


@transaction.atomic
def set_status(
    *, actor: User | None, donor_code: str, status: str, note: str = "", only_from: str | None = None
) -> DonorProfile:
    """Staff (or beat, actor None) move a donor along his journey: audited with the staff's note,
    and the donor told his new status (never the note). `only_from`: change only a donor still in
    that status (beat's rule, against a change staff made meanwhile)."""
    from clinic.notifications.services import notify

    if status not in DonorStatus.values:
        raise Invalid(
            _("Unknown donor status."),
            fields={"donor_status": [_("Choose one of: %(values)s.") % {"values": ", ".join(DonorStatus.values)}]},
        )
    profile = DonorProfile.objects.select_for_update().select_related("user").filter(donor_code=donor_code.upper())
    found = profile.first()
    if found is None:
        raise NotFound(_("No client with that donor code."))
    if found.purpose == DonorProfile.Purpose.SELF_PRESERVATION:
        raise Invalid(
            _("Self-preservation clients have no donor status."),
            fields={"donor_status": [_("This client is not a donor.")]},
        )
    previous = status_of(found)
    if previous != status and (only_from is None or previous == only_from):
        found.donor_status = status
        found.save(update_fields=["donor_status"])
        audit.record(
            "donor.status_changed",
            actor=actor,
            obj=found.user,
            data={"from": previous, "to": status, "note": note.strip()[:500]},
        )
        notify([found.user], "donor.status", context={"status": status})
        if not ALLOWED_PURPOSES[status]:
            from clinic.bookings import waitlist  # the waitlist asks this module who may book

            waitlist.end_for_client(found.user)
    return get_profile(found.donor_code)


# --- beat: retests due ---------------------------------------------------------------------


@dataclass(frozen=True)
class RetestRun:
    marked: int


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (the month's last day if shorter)."""
    years, month0 = divmod(moment.month - 1 - months, 12)
    year, month = moment.year + years, month0 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def retest_due_before(now: datetime) -> datetime:
    return months_before(now, settings.DONOR_RETEST_MONTHS)


def mark_retests_due(now: datetime | None = None) -> RetestRun:
    """Qualified donors whose first donation is DONOR_RETEST_MONTHS old and who have had no retest
    since become `retest_due` (told, audited). A donor staff qualify again after his retest is not
    marked again."""
    now = now or timezone.now()
    completed = Booking.objects.filter(donor=OuterRef("user"), status=Status.COMPLETED)
    candidates = (
        DonorProfile.objects.filter(purpose=DonorProfile.Purpose.DONATION, donor_status=DonorStatus.QUALIFIED)
        .annotate(
            first_donation=Min(
                "user__bookings__start",
                filter=Q(user__bookings__purpose=Purpose.DONATION, user__bookings__status=Status.COMPLETED),
            )
        )
        .filter(first_donation__lte=retest_due_before(now))
        .filter(~Exists(completed.filter(purpose=Purpose.RETEST)))
        .values_list("donor_code", flat=True)
    )
    marked = 0
    for code in list(candidates):
        profile = set_status(
            actor=None,
            donor_code=code,
            status=DonorStatus.RETEST_DUE,
            note="retest due",
            only_from=DonorStatus.QUALIFIED,
        )
        marked += profile.donor_status == DonorStatus.RETEST_DUE
    return RetestRun(marked=marked)
