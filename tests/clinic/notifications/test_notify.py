"""notify / notify_holders: rows in the caller's transaction, discreet texts, the right people."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from clinic.accounts.models import User
from clinic.notifications import services, texts
from clinic.notifications.models import Kind, Notification
from tests import factories as f

# Words that would tell a lock screen what the message is about.
INDISCREET = ("clinic", "sperm", "semen", "bank", "donat", "donor", "collection", "hospital")
INDISCREET_ZH = ("精", "捐", "诊所", "医院", "采集", "库", "生殖")


@pytest.fixture
def booking(people):
    room = f.room("Room A")
    f.weekly_opening(room)
    return f.booking(people.alice, room, f.at(f.tomorrow(), "09:00"))


def identity_of(user: User) -> list[str]:
    profile = user.donor_profile
    return [profile.real_name, *profile.real_name.split(), user.phone, user.username]


def test_it_records_one_undelivered_row_per_distinct_recipient(people, booking):
    rows = services.notify([people.alice, people.alice], "booking.approved", booking=booking)
    assert len(rows) == 1
    row = Notification.objects.get()
    assert (row.recipient, row.kind, row.booking, row.delivered_at, row.read_at) == (
        people.alice,
        "booking.approved",
        booking,
        None,
        None,
    )
    assert row.title == "Appointment confirmed"
    assert row.body == f"Your appointment on {f.tomorrow():%Y-%m-%d} 09:00 in Room A is confirmed."
    assert row.data["booking"] == booking.pk and row.data["code"] == people.alice.donor_code


def test_rows_belong_to_the_callers_transaction(people, booking):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.notify([people.alice], "booking.approved", booking=booking)
        raise RuntimeError("the approval failed")
    assert not Notification.objects.exists()


def test_it_enqueues_primary_keys_after_commit_only(people, booking, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr("clinic.notifications.tasks.deliver_batch.delay", lambda *args: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        rows = services.notify([people.alice, people.bob], "booking.approved", booking=booking)
        assert sent == []
    assert len(callbacks) == 1
    assert len(rows) == 2
    assert sent == [([row.pk for row in rows],)]  # one message for the commit's rows


def test_a_transaction_hands_over_its_rows_and_rooms_in_one_message(
    people, booking, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr("clinic.notifications.tasks.deliver_batch.delay", lambda *args: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        reviewed = services.notify([people.alice], "booking.reviewed", booking=booking)
        services.announce_room_state(booking.room_id)
        approved = services.notify([people.alice, people.sam], "booking.approved", booking=booking)
        services.announce_room_state(booking.room_id)
        assert sent == []
    assert sent == [([row.pk for row in reviewed + approved], [booking.room_id])]
    # The next transaction starts its own message.
    with django_capture_on_commit_callbacks(execute=True):
        [again] = services.notify([people.alice], "booking.reviewed", booking=booking)
    assert sent[1:] == [([again.pk],)]


def test_what_a_rolled_back_savepoint_wrote_first_is_not_handed_over(
    people, booking, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr("clinic.notifications.tasks.deliver_batch.delay", lambda *args: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            services.notify([people.alice], "booking.approved", booking=booking)
            services.announce_room_state(booking.room_id)
            raise RuntimeError("the approval failed")
        [kept] = services.notify([people.bob], "booking.reviewed", booking=booking)
    assert sent == [([kept.pk],)]


def test_a_savepoint_rolled_back_after_the_first_row_leaves_the_rest_in_the_message(
    people, booking, monkeypatch, django_capture_on_commit_callbacks
):
    """Its rows are gone (a delivery cannot claim them); what came before and after still goes."""
    sent = []
    monkeypatch.setattr("clinic.notifications.tasks.deliver_batch.delay", lambda *args: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        [first] = services.notify([people.alice], "booking.reviewed", booking=booking)
        with pytest.raises(RuntimeError), transaction.atomic():
            [undone] = services.notify([people.bob], "booking.approved", booking=booking)
            raise RuntimeError("the approval failed")
        [last] = services.notify([people.sam], "booking.reviewed", booking=booking)
    assert sent == [([first.pk, undone.pk, last.pk],)]
    assert not Notification.objects.filter(pk=undone.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_and_after_a_rollback(monkeypatch):
    """Autocommit: handed over at once. A transaction rolled back hands nothing over, and the
    next one starts afresh."""
    from tests.conftest import Personas

    people = Personas()
    room = f.room("Room A")
    booking = f.booking(people.alice, room, f.at(f.tomorrow(), "09:00"))
    sent = []
    monkeypatch.setattr("clinic.notifications.tasks.deliver_batch.delay", lambda *args: sent.append(args))
    [now] = services.notify([people.alice], "booking.reviewed", booking=booking)
    services.announce_room_state(room.pk)
    assert sent == [([now.pk],), ([], [room.pk])]
    with pytest.raises(RuntimeError), transaction.atomic():
        services.notify([people.alice], "booking.approved", booking=booking)
        raise RuntimeError("the approval failed")
    with transaction.atomic():
        [later] = services.notify([people.alice], "booking.reviewed", booking=booking)
        services.announce_room_state(room.pk)
    assert sent[2:] == [([later.pk], [room.pk])]


def test_it_skips_inactive_people_and_refuses_unknown_kinds(people, booking):
    people.bob.is_active = False
    people.bob.save()
    assert services.notify([people.bob], "booking.approved", booking=booking) == []
    with pytest.raises(ValueError):
        services.notify([people.alice], "booking.exploded", booking=booking)
    assert not Notification.objects.exists()


@pytest.mark.db_sensitive  # holders() is hand-written SQL: run on SQLite too
def test_holders_are_those_whose_role_or_own_permissions_hold_it(people):
    assert list(services.holders("bookings.review_donation")) == [people.sam]
    assert list(services.holders("bookings.review_room")) == [people.rita]
    # A permission given to the user himself counts; so does one a role gains later.
    people.bob.user_permissions.add(Permission.objects.get(codename="review_room"))
    Group.objects.get(name="staff").permissions.add(Permission.objects.get(codename="review_room"))
    assert set(services.holders("bookings.review_room")) == {people.rita, people.bob, people.sam}
    assert list(services.holders("nosuch.permission")) == []


def test_a_superuser_hears_only_through_a_role(people, booking):
    boss = User.objects.create_superuser("boss", password=f.PASSWORD)
    services.notify_holders("bookings.review_donation", "booking.requested", booking=booking)
    assert not Notification.objects.filter(recipient=boss).exists()
    boss.groups.add(Group.objects.get(name="staff"))
    services.notify_holders("bookings.review_donation", "booking.requested", booking=booking)
    assert Notification.objects.filter(recipient=boss, kind="booking.requested").count() == 1


def test_inactive_holders_are_skipped(people, booking):
    people.sam.is_active = False
    people.sam.save()
    assert services.notify_holders("bookings.review_donation", "booking.requested", booking=booking) == []


def test_staff_see_a_completed_session_from_their_side(people, booking):
    [mine] = services.notify([people.alice], "booking.completed", booking=booking)
    [theirs] = services.notify_holders("bookings.manage_bookings", "booking.completed", booking=booking)
    assert mine.body.startswith("Thank you.")
    assert theirs.recipient == people.sam
    assert theirs.body == f"{people.alice.donor_code}: {f.tomorrow():%Y-%m-%d} 09:00, Room A is complete."


def test_a_room_managers_notification_carries_the_code_and_no_identity(people, booking):
    [row] = services.notify_holders("bookings.review_room", "room.requested", booking=booking)
    assert row.recipient == people.rita
    assert people.alice.donor_code in row.body
    pushed = json.dumps(services.payload(row)) + json.dumps(row.data)
    for secret in identity_of(people.alice):
        assert secret not in pushed
    assert set(services.payload(row)) == {"id", "kind", "title", "body", "booking", "created", "read"}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("kind", Kind.values)
def test_every_text_is_discreet(people, booking, kind, language, settings):
    settings.LANGUAGE_CODE = language
    context = {"review": "staff", "decision": "rejected", "reason": "closed that day", "minutes": 3, "title": "Hi"}
    for for_donor in (True, False):
        title, body = texts.render(kind, services._context(booking, context), for_donor=for_donor)
        assert title and body
        for word in INDISCREET + INDISCREET_ZH:
            assert word not in title.lower(), (kind, title)
            assert word not in body.lower(), (kind, body)
        for secret in identity_of(people.alice):
            assert secret not in title + body
        assert "{" not in title + body


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("status", ["applicant", "qualified", "retest_due", "suspended", "retired"])
def test_every_donor_status_text_is_discreet(status, language, settings):
    settings.LANGUAGE_CODE = language
    title, body = texts.render("donor.status", {"status": status})
    assert body != texts.render("donor.status", {})[1]  # its own sentence
    for word in INDISCREET + INDISCREET_ZH:
        assert word not in (title + body).lower(), (status, title, body)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("change", ["booked", "cancelled", "moved", "closed"])
def test_every_booking_change_text_is_discreet(people, booking, change, language, settings):
    settings.LANGUAGE_CODE = language
    context = services._context(booking, {"change": change, "reason": "closed that day"})
    title, body = texts.render("booking.changed", context)
    assert body != texts.render("booking.changed", services._context(booking, {}))[1]  # its own sentence
    assert "closed that day" in body
    for word in INDISCREET + INDISCREET_ZH:
        assert word not in (title + body).lower(), (change, title, body)


def test_a_missing_placeholder_renders_empty_rather_than_failing(people):
    [row] = services.notify([people.rita], "door.held_open")
    assert row.body == "The door of has been open for min."


def test_review_results_and_rejection_reasons_read_well(people, booking):
    [passed] = services.notify(
        [people.alice], "booking.reviewed", booking=booking, context={"review": "room", "decision": "approved"}
    )
    assert passed.body.endswith("the room check is complete.")
    [refused] = services.notify([people.alice], "booking.rejected", booking=booking, context={"reason": "Closed."})
    assert refused.body.endswith("could not be confirmed. Reason: Closed.")
    [bare] = services.notify([people.alice], "booking.rejected", booking=booking)
    assert bare.body.endswith("could not be confirmed.")


def test_the_announcements_of_one_event_go_out_in_one_message(
    people, booking, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr("clinic.notifications.tasks.deliver_batch.delay", lambda *args: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        rows = services.notify_holders_each(
            [("bookings.review_donation", "booking.requested"), ("bookings.review_room", "room.requested")],
            booking=booking,
        )
    assert [(row.recipient, row.kind) for row in rows] == [
        (people.sam, "booking.requested"),
        (people.rita, "room.requested"),
    ]
    assert len(callbacks) == 1
    assert sent == [([row.pk for row in rows],)]
