"""POST/GET /api/waitlist/, DELETE /api/waitlist/{id}/ and the offers: a freed slot goes to the
first eligible client in line, held for him (others: the room is taken, booking it is 409
slot_held), passed on when unused; a slot freed by a closure is never offered."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.utils import timezone

from clinic.accounts.models import DonorProfile
from clinic.bookings import waitlist
from clinic.bookings.models import Booking, SlotHold, WaitlistEntry
from clinic.notifications.models import Notification
from clinic.rooms.models import Closure
from tests import factories as f
from workflows import bookings as booking_flow


@pytest.fixture
def day():
    return f.tomorrow()


@pytest.fixture
def room(db, day):
    """One room open 09:00-10:00 tomorrow in 30-minute slots."""
    room = f.room("Room A", coil=0)
    f.weekly_opening(room, start="09:00", end="10:00")
    return room


@pytest.fixture
def full(people, room, day):
    """Both of the day's slots booked (by sam's on-behalf clients dora and eve)."""
    dora = f.client_user("dora", phone="13800000004")
    eve = f.client_user("eve", phone="13800000005")
    return [
        booking_flow.request_booking(actor=dora, donor=dora, room_id=room.pk, start=f.at(day, "09:00")),
        booking_flow.request_booking(actor=eve, donor=eve, room_id=room.pk, start=f.at(day, "09:30")),
    ]


@pytest.fixture
def run_commits(django_capture_on_commit_callbacks):
    """Offers run once a change commits: here, at the end of each block."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def join(client, day, **extra):
    return client.post("/api/waitlist/", {"date": day.isoformat(), **extra}, format="json")


def cancel(booking):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(booking.donor)
    return client.post(f"/api/bookings/{booking.pk}/cancel/", {}, format="json")


def offers_to(user):
    return list(Notification.objects.filter(recipient=user, kind="slot.offered"))


def free_rooms(client, day, start):
    slots = client.get("/api/slots/", {"date": day.isoformat()}).json()
    return next(s["free_rooms"] for s in slots if s["start"] == start.isoformat())


def test_a_client_joins_a_full_day_and_waits(people, client_for, full, day, run_commits):
    with run_commits():
        response = join(client_for(people.alice), day)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "waiting" and body["offer"] is None and body["date"] == day.isoformat()
    assert WaitlistEntry.objects.get().client == people.alice
    assert client_for(people.alice).get("/api/waitlist/").json()[0]["id"] == body["id"]
    assert client_for(people.bob).get("/api/waitlist/").json() == []


def test_a_cancelled_slot_goes_to_the_first_in_line_held_for_him(people, client_for, full, day, room, run_commits):
    with run_commits():
        join(client_for(people.alice), day)
        join(client_for(people.bob), day)
    with run_commits():
        assert cancel(full[1]).status_code == 200
    start = f.at(day, "09:30")
    (offer,) = offers_to(people.alice)
    assert offer.data["start"] == start.isoformat() and offer.data["room"] == room.pk
    listed = client_for(people.alice).get("/api/notifications/").json()["results"][0]
    assert listed["kind"] == "slot.offered"
    assert listed["data"]["start"] == start.isoformat() and listed["data"]["room"] == room.pk
    assert offers_to(people.bob) == []
    hold = SlotHold.objects.get()
    assert (hold.client, hold.room, hold.start, hold.state) == (people.alice, room, start, "active")
    assert timedelta(minutes=14) < hold.expires - timezone.now() <= timedelta(minutes=15)
    entry = client_for(people.alice).get("/api/waitlist/").json()[0]
    assert entry["state"] == "offered" and entry["offer"]["start"] == start.isoformat()
    # Everyone else sees the room taken; the holder sees it free.
    assert free_rooms(client_for(people.bob), day, start) == []
    assert free_rooms(client_for(None), day, start) == []
    assert free_rooms(client_for(people.alice), day, start) == [{"id": room.pk, "name": "Room A"}]
    response = client_for(people.bob).post(
        "/api/bookings/", {"room": room.pk, "start": start.isoformat()}, format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == "slot_held"
    # He books it from the offer, with the usual request.
    with run_commits():
        response = client_for(people.alice).post(
            "/api/bookings/", {"room": room.pk, "start": start.isoformat()}, format="json"
        )
    assert response.status_code == 201, response.content
    hold.refresh_from_db()
    assert hold.state == "used"
    assert WaitlistEntry.objects.get(client=people.alice).state == "booked"
    assert WaitlistEntry.objects.get(client=people.bob).state == "waiting"
    assert offers_to(people.bob) == []


def test_an_unused_offer_passes_to_the_next_in_line(people, client_for, full, day, run_commits):
    with run_commits():
        join(client_for(people.alice), day)
        join(client_for(people.bob), day)
        cancel(full[0])
    assert len(offers_to(people.alice)) == 1
    later = timezone.now() + timedelta(minutes=16)
    with run_commits():
        run = waitlist.sweep(later)
    assert (run.lapsed, run.offered) == (1, 1)
    assert WaitlistEntry.objects.get(client=people.alice).state == "lapsed"
    assert [n.data["start"] for n in offers_to(people.bob)] == [f.at(day, "09:00").isoformat()]
    assert SlotHold.objects.get(state="active").client == people.bob
    # The next sweeps change nothing until bob's offer lapses too.
    assert waitlist.sweep(later).offered == 0
    assert len(offers_to(people.bob)) == 1


def test_a_hold_lasts_no_longer_than_until_its_slot_starts(people, client_for, day, room):
    join(client_for(people.alice), day)
    assert waitlist.offer(day, now=f.at(day, "08:55")) == 1
    hold = SlotHold.objects.get()
    assert hold.expires == hold.start == f.at(day, "09:00")


@pytest.mark.parametrize("status", ["suspended", "retired"])
def test_a_client_whose_status_books_nothing_is_skipped(people, client_for, full, day, run_commits, status):
    with run_commits():
        join(client_for(people.alice), day)
        join(client_for(people.bob), day)
    DonorProfile.objects.filter(user=people.alice).update(donor_status=status)
    with run_commits():
        cancel(full[0])
    assert offers_to(people.alice) == []
    assert len(offers_to(people.bob)) == 1


def test_the_time_range_and_the_room_are_respected(people, client_for, full, day, room, run_commits):
    other = f.room("Room B", coil=1)
    with run_commits():
        assert join(client_for(people.alice), day, after="09:30").status_code == 201
        assert join(client_for(people.bob), day, before="09:30", room=room.pk).status_code == 201
    # Room B opens 09:00-09:30 only: alice waits from 09:30 on, bob for Room A alone.
    with run_commits():
        f.weekly_opening(other, start="09:00", end="09:30")
        waitlist.offer(day)
    assert offers_to(people.alice) == [] and offers_to(people.bob) == []
    with run_commits():
        cancel(full[0])  # Room A 09:00
    assert offers_to(people.alice) == []
    assert [n.data["start"] for n in offers_to(people.bob)] == [f.at(day, "09:00").isoformat()]


def test_new_opening_hours_are_offered(people, client_for, full, day, room, run_commits):
    with run_commits():
        join(client_for(people.alice), day, after="10:00")
    with run_commits():
        response = client_for(people.sam).post(
            f"/api/rooms/{room.pk}/openings/",
            {"date": day.isoformat(), "start_time": "10:00", "end_time": "10:30", "slot_minutes": 30},
            format="json",
        )
    assert response.status_code == 201, response.content
    assert [n.data["start"] for n in offers_to(people.alice)] == [f.at(day, "10:00").isoformat()]


def test_a_slot_freed_by_a_closure_is_never_offered(people, client_for, full, day, room, run_commits):
    with run_commits():
        join(client_for(people.alice), day)
    Closure.objects.create(room=room, start_date=day, end_date=day, reason="repair")
    with run_commits():
        cancel(full[0])
        waitlist.sweep()
    assert offers_to(people.alice) == []
    assert not SlotHold.objects.exists()


def test_leaving_gives_the_held_slot_to_the_next_in_line(people, client_for, full, day, run_commits):
    with run_commits():
        first = join(client_for(people.alice), day).json()
        join(client_for(people.bob), day)
        cancel(full[0])
    with run_commits():
        assert client_for(people.alice).delete(f"/api/waitlist/{first['id']}/").status_code == 204
    assert WaitlistEntry.objects.get(pk=first["id"]).state == "left"
    assert SlotHold.objects.get(client=people.alice).state == "released"
    assert SlotHold.objects.get(state="active").client == people.bob


def test_booking_another_slot_ends_his_place_and_gives_back_his_hold(people, client_for, full, day, room, run_commits):
    other = f.room("Room B", coil=1)
    f.weekly_opening(other, start="11:00", end="11:30")
    with run_commits():
        join(client_for(people.alice), day, before="10:00")
        join(client_for(people.bob), day, before="10:00")
        cancel(full[0])
    with run_commits():
        response = client_for(people.alice).post(
            "/api/bookings/", {"room": other.pk, "start": f.at(day, "11:00").isoformat()}, format="json"
        )
    assert response.status_code == 201
    assert WaitlistEntry.objects.get(client=people.alice).state == "booked"
    assert SlotHold.objects.get(client=people.alice).state == "released"
    assert SlotHold.objects.get(state="active").client == people.bob


def test_only_his_own_entries_can_be_left(people, client_for, full, day, run_commits):
    with run_commits():
        entry = join(client_for(people.alice), day).json()
    assert client_for(people.bob).delete(f"/api/waitlist/{entry['id']}/").status_code == 404
    assert client_for(people.alice).delete("/api/waitlist/999999/").status_code == 404
    assert WaitlistEntry.objects.get().state == "waiting"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"date": "2020-01-01"}, "date"),
        ({"date": "tomorrow"}, "date"),
        ({"after": "10:00", "before": "09:00"}, "before"),
        ({"after": "25:00"}, "after"),
        ({"room": 999999}, "room"),
        ({"room": "x"}, "room"),
    ],
)
def test_a_bad_entry_is_a_400_and_saves_nothing(people, client_for, day, room, body, field):
    response = client_for(people.alice).post("/api/waitlist/", {"date": day.isoformat(), **body}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json().get("errors", {}), response.json()
    assert not WaitlistEntry.objects.exists()


def test_a_day_beyond_the_horizon_is_a_400(people, client_for, settings):
    settings.BOOKING_HORIZON_DAYS = 5
    response = join(client_for(people.alice), timezone.localdate() + timedelta(days=6))
    assert response.status_code == 400
    assert not WaitlistEntry.objects.exists()


def test_joining_twice_for_a_day_is_a_409(people, client_for, full, day, run_commits):
    with run_commits():
        assert join(client_for(people.alice), day).status_code == 201
    response = join(client_for(people.alice), day, after="09:30")
    assert response.status_code == 409 and response.json()["code"] == "already_waiting"
    assert WaitlistEntry.objects.count() == 1


def test_a_client_with_an_active_booking_or_no_purpose_cannot_join(people, client_for, full, day):
    response = join(client_for(full[0].donor), day)
    assert response.status_code == 409 and response.json()["code"] == "active_booking_exists"
    DonorProfile.objects.filter(user=people.alice).update(donor_status="suspended")
    response = join(client_for(people.alice), day)
    assert response.status_code == 409 and response.json()["code"] == "purpose_not_allowed"
    assert not WaitlistEntry.objects.exists()


@pytest.mark.parametrize(("persona", "status"), [("sam", 403), ("rita", 403), ("adam", 403), (None, 401)])
def test_only_clients_use_the_waitlist(people, client_for, day, persona, status):
    client = client_for(getattr(people, persona) if persona else None)
    assert join(client, day).status_code == status
    assert client.get("/api/waitlist/").status_code == status
    assert not WaitlistEntry.objects.exists()


def test_past_days_end_at_the_sweep(people, client_for, full, day, run_commits):
    with run_commits():
        join(client_for(people.alice), day)
    run = waitlist.sweep(timezone.now() + timedelta(days=2))
    assert run.ended == 1
    assert WaitlistEntry.objects.get().state == "ended"


def test_the_entry_shows_its_window(people, client_for, full, day, room, run_commits):
    with run_commits():
        body = join(client_for(people.alice), day, after="09:15", before="10:00", room=room.pk).json()
    assert (body["after"], body["before"], body["room"], body["room_name"]) == ("09:15", "10:00", room.pk, "Room A")
    entry = WaitlistEntry.objects.get()
    assert (entry.after, entry.before) == (time(9, 15), time(10, 0))
    assert Booking.objects.count() == 2


# --- what the review found: each rule that keeps an offer bookable --------------------------


def test_an_entry_that_left_is_never_held(people, client_for, full, day, room):
    entry = WaitlistEntry.objects.create(client=people.alice, date=day, state="left")
    assert waitlist._hold(entry, room.pk, f.at(day, "09:00"), f.at(day, "09:30"), timezone.now()) is None
    assert not SlotHold.objects.exists()
    assert WaitlistEntry.objects.get().state == "left"


def test_two_offers_keep_the_arrival_gap_between_them(people, client_for, day, settings, run_commits):
    settings.ARRIVAL_GAP_MINUTES = 10
    a, b = f.room("Gap A", coil=3), f.room("Gap B", coil=4)
    for room in (a, b):
        f.weekly_opening(room, start="09:00", end="09:30", slot_minutes=15)
    with run_commits():
        join(client_for(people.alice), day)
        join(client_for(people.bob), day)
    starts = sorted(SlotHold.objects.values_list("start", flat=True))
    assert starts == [f.at(day, "09:00"), f.at(day, "09:15")]  # never two at 09:00 in two rooms
    for client in (people.alice, people.bob):
        hold = SlotHold.objects.get(client=client)
        response = client_for(client).post(
            "/api/bookings/", {"room": hold.room_id, "start": hold.start.isoformat()}, format="json"
        )
        assert response.status_code == 201, response.content


def test_a_donor_within_his_abstinence_interval_is_not_offered_a_slot_he_could_not_book(
    people, client_for, full, day, room, run_commits, settings
):
    settings.MIN_DAYS_BETWEEN_DONATIONS = 3
    with run_commits():
        join(client_for(people.alice), day)
        join(client_for(people.bob), day)
    Booking.objects.create(
        donor=people.alice, room=room, start=f.at(day, "07:00") - timedelta(days=1),
        end=f.at(day, "07:30") - timedelta(days=1), status="completed",
    )  # fmt: skip
    with run_commits():
        cancel(full[0])
    assert offers_to(people.alice) == []
    assert len(offers_to(people.bob)) == 1


def test_a_day_the_interval_rules_out_cannot_be_waited_for(people, client_for, day, room, settings):
    settings.MIN_DAYS_BETWEEN_DONATIONS = 3
    Booking.objects.create(
        donor=people.alice, room=room, start=timezone.now() - timedelta(hours=1),
        end=timezone.now() - timedelta(minutes=30), status="completed",
    )  # fmt: skip
    response = join(client_for(people.alice), day)
    assert response.status_code == 409 and response.json()["code"] == "too_soon_after_last_donation"
    assert not WaitlistEntry.objects.exists()


def test_a_closure_gives_back_the_slots_held_in_it(people, client_for, day, room, run_commits):
    other = f.room("Room B", coil=1)
    f.weekly_opening(other, start="11:00", end="11:30")
    with run_commits():
        join(client_for(people.alice), day)
    assert SlotHold.objects.get().room == room
    with run_commits():
        response = client_for(people.sam).post(
            f"/api/rooms/{room.pk}/closures/",
            {"start_date": day.isoformat(), "end_date": day.isoformat(), "reason": "repair"},
            format="json",
        )
    assert response.status_code == 201, response.content
    assert SlotHold.objects.get(room=room).state == "released"
    # He waits on, and is offered what is still open that day.
    assert SlotHold.objects.get(state="active").room == other
    assert WaitlistEntry.objects.get().state == "offered"


def test_a_room_taken_out_of_service_gives_back_its_holds(people, client_for, day, room, run_commits):
    with run_commits():
        join(client_for(people.alice), day)
    with run_commits():
        assert (
            client_for(people.sam).patch(f"/api/rooms/{room.pk}/", {"active": False}, format="json").status_code == 200
        )
    assert SlotHold.objects.get().state == "released"
    assert WaitlistEntry.objects.get().state == "waiting"


def test_a_suspended_donor_leaves_every_line_and_his_slot_passes_on(people, client_for, full, day, run_commits):
    with run_commits():
        join(client_for(people.alice), day)
        join(client_for(people.bob), day)
        cancel(full[0])
    assert SlotHold.objects.get(state="active").client == people.alice
    with run_commits():
        response = client_for(people.sam).patch(
            f"/api/donors/{people.alice.donor_code}/", {"donor_status": "suspended"}, format="json"
        )
    assert response.status_code == 200
    assert WaitlistEntry.objects.get(client=people.alice).state == "ended"
    assert SlotHold.objects.get(state="active").client == people.bob
