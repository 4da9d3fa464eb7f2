"""The donor journey's date rule (clinic.bookings.journey.mark_retests_due): a qualified donor's
retest falls due DONOR_RETEST_MONTHS after his first donation, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from clinic.accounts.models import DonorProfile
from clinic.audit.models import AuditEvent
from clinic.bookings import journey
from clinic.notifications.models import Notification
from tests import factories as f


@pytest.fixture
def room(db):
    return f.room("Room A", coil=0)


def donated(donor, room, when, *, purpose="donation", status="completed"):
    return f.booking(donor, room, when, status=status, purpose=purpose)


def status(user) -> str | None:
    return DonorProfile.objects.get(user=user).donor_status


def test_six_months_after_the_first_donation_the_retest_is_due_once(people, room, settings):
    settings.DONOR_RETEST_MONTHS = 6
    now = timezone.now()
    donated(people.alice, room, now - relativedelta(months=6) - timedelta(days=1))
    donated(people.alice, room, now - timedelta(days=10))
    donated(people.bob, room, now - relativedelta(months=6) + timedelta(days=1))  # not yet
    assert journey.mark_retests_due(now).marked == 1
    assert (status(people.alice), status(people.bob)) == ("retest_due", "qualified")
    event = AuditEvent.objects.get(action="donor.status_changed")
    assert event.actor is None and event.data["from"] == "qualified" and event.data["to"] == "retest_due"
    assert Notification.objects.filter(recipient=people.alice, kind="donor.status").count() == 1
    assert journey.mark_retests_due(now).marked == 0
    assert Notification.objects.filter(kind="donor.status").count() == 1


def test_a_donor_qualified_again_after_his_retest_is_not_marked_again(people, room):
    now = timezone.now()
    donated(people.alice, room, now - relativedelta(months=8))
    donated(people.alice, room, now - relativedelta(months=1), purpose="retest")
    assert journey.mark_retests_due(now).marked == 0
    assert status(people.alice) == "qualified"


@pytest.mark.parametrize("donor_status", ["applicant", "suspended", "retired", "retest_due"])
def test_only_qualified_donors_are_marked(people, room, donor_status):
    DonorProfile.objects.filter(user=people.alice).update(donor_status=donor_status)
    donated(people.alice, room, timezone.now() - relativedelta(months=7))
    assert journey.mark_retests_due().marked == 0
    assert status(people.alice) == donor_status


def test_visits_that_did_not_happen_do_not_count(people, room):
    for visit_status in ("cancelled", "no_show", "rejected", "expired"):
        donated(people.alice, room, timezone.now() - relativedelta(months=7), status=visit_status)
    donated(people.alice, room, timezone.now() - relativedelta(months=7), purpose="screening")
    assert journey.mark_retests_due().marked == 0


def test_a_change_staff_made_meanwhile_wins(people, room):
    """Beat's change applies only to a donor still qualified when it writes."""
    donated(people.alice, room, timezone.now() - relativedelta(months=7))
    journey.set_status(actor=people.sam, donor_code=people.alice.donor_code, status="suspended")
    profile = journey.set_status(
        actor=None, donor_code=people.alice.donor_code, status="retest_due", only_from="qualified"
    )
    assert profile.donor_status == "suspended"
