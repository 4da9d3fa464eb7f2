"""Hypothesis on every parser of times and dates the API has, through the API itself: any text
(or any JSON value) is answered without a 5xx, and every valid value makes the round trip.

- the booking start (and the reschedule start): ISO 8601 with any offset, naive, garbage;
- GET /api/slots/?date= and GET /api/bookings/?date=;
- opening hours: start_time, end_time, date, weekdays;
- closures: start_date, end_date;
- promotions: publish_from, publish_until.

Each example runs in a savepoint that is rolled back: every example meets the same world.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories as f
from tests.security import world as w

SETTINGS = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=not os.environ.get("FUZZ_RANDOM"),
)

# --- strategies ---------------------------------------------------------------------------

OFFSETS = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: timedelta(minutes=m))


def offset_text(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


TRICKY = [
    "",
    " ",
    "now",
    "today",
    "null",
    "0",
    "-1",
    "2026-02-30",
    "2026-13-01",
    "2026-00-10",
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "2026-1-1",
    "2026/01/01",
    "20260101",
    "2026-W01-1",
    "2026-001",
    "24:00",
    "23:60",
    "25:00",
    "-01:00",
    "12:00:60",
    "12:00:00.999999999",
    "12:00+08:00",
    "9:5",
    "T12:00",
    "2026-01-01T24:00:00+08:00",
    "2026-01-01T12:00:00+24:00",
    "2026-01-01T12:00:00+08:05:43",
    "2026-01-01T12:00:00-00:00",
    "2026-01-01T12:00:00z",
    "2026-01-01 12:00:00",
    "2026-01-01T12:00:00.123456789+08:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31T23:59:59.999999+00:00",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59",  # naive, at the end of the calendar: Asia/Shanghai is past it in UTC
    "9999-12-31T20:00",
    "0001-01-01T00:00:00",
    "0001-01-01",
    "2026-01-01T12:00:00+08:00\x00",
    "\x00",
    "\u0661\u0669\u0667\u0660-\u0660\u0661-\u0660\u0661",  # Arabic-Indic digits
    "２０２６-０１-０１",  # full-width digits
    "2026-01-01T12:00:00+08:00" * 20,
    "9" * 400,
    "' OR 1=1 --",
]

dates = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
times = st.times()
datetimes_with_offset = st.builds(
    lambda d, off, sep, frac: d.replace(tzinfo=dt_timezone(off)).isoformat(sep=sep, timespec=frac),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    OFFSETS,
    st.sampled_from(["T", " "]),
    st.sampled_from(["auto", "minutes", "seconds", "milliseconds", "microseconds"]),
)

date_like_text = st.one_of(
    st.sampled_from(TRICKY),
    st.text(max_size=40),
    dates.map(date.isoformat),
    times.map(time.isoformat),
    datetimes_with_offset,
    st.datetimes().map(datetime.isoformat),  # naive
    st.from_regex(r"\A[0-9]{1,5}-[0-9]{1,3}-[0-9]{1,3}([T ][0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)?\Z"),
    st.from_regex(r"\A[0-9]{1,3}:[0-9]{1,3}(:[0-9]{1,3})?\Z"),
)
any_json = st.one_of(
    date_like_text,
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(min_value=-3, max_value=10), max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def world(people, request):
    # (`settings` here is hypothesis'; pytest-django's fixture is fetched by name.)
    request.getfixturevalue("settings").DOOR_LOCK_ADAPTER = "tests.doubles.FakeLock"
    return w.build(people)


def rolled_back(call):
    """Run `call` in a savepoint rolled back afterwards; return what it returned."""
    with transaction.atomic():
        result = call()
        transaction.set_rollback(True)
    return result


def no_server_error(response, what) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.content[:400]!r}"
    if response.status_code >= 400:
        body = response.json()
        assert {"detail", "code"} <= set(body), (what, body)


def instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert value.tzinfo is not None, f"{text} has no offset"
    return value


# --- the booking start --------------------------------------------------------------------


def test_any_booking_start_is_answered_without_a_server_error(world, client_for):
    dora = client_for(world.people.dora)
    room = world.rooms[0].pk

    @SETTINGS
    @given(start=any_json)
    def check(start):
        response = rolled_back(lambda: dora.post("/api/bookings/", {"room": room, "start": start}, format="json"))
        no_server_error(response, f"start={start!r}")
        assert response.status_code in (201, 400, 409), (start, response.status_code, response.content)

    for value in TRICKY:  # every tricky value, whatever Hypothesis draws
        check.hypothesis.inner_test(start=value)
    check()


def free_slot_starts(world) -> list[datetime]:
    """Room A's 5-minute slots tomorrow between 12:00 and 20:00 (nobody is booked then)."""
    day = f.tomorrow()
    first = f.at(day, "12:00")
    return [first + timedelta(minutes=5 * n) for n in range(96)]


def test_a_valid_start_in_any_offset_books_that_instant(world, client_for):
    dora = client_for(world.people.dora)
    room = world.rooms[0].pk
    starts = free_slot_starts(world)

    @SETTINGS
    @given(
        start=st.sampled_from(starts),
        offset=OFFSETS,
        zulu=st.booleans(),
        precision=st.sampled_from(["seconds", "microseconds", "minutes"]),
    )
    def check(start, offset, zulu, precision):
        text = start.astimezone(dt_timezone(offset)).isoformat(timespec=precision)
        if zulu and offset == timedelta(0):
            text = text.replace("+00:00", "Z")

        def book():
            created = dora.post("/api/bookings/", {"room": room, "start": text}, format="json")
            read = dora.get(f"/api/bookings/{created.json()['id']}/") if created.status_code == 201 else None
            return created, read

        created, read = rolled_back(book)
        assert created.status_code == 201, (text, created.content)
        answered = instant(created.json()["start"])
        assert answered == start, (text, created.json()["start"])
        assert answered.utcoffset() == timedelta(hours=8), "answers are in the clinic's time (+08:00)"
        assert instant(created.json()["end"]) == start + timedelta(minutes=5)
        assert read.json()["start"] == created.json()["start"]

    check()


def test_a_naive_start_is_the_clinics_local_time_or_refused(world, client_for):
    """A start without offset is either read as Asia/Shanghai time or refused with a 400:
    never booked at another instant."""
    dora = client_for(world.people.dora)
    start = free_slot_starts(world)[10]
    naive = timezone.localtime(start).replace(tzinfo=None).isoformat()
    response = rolled_back(
        lambda: dora.post("/api/bookings/", {"room": world.rooms[0].pk, "start": naive}, format="json")
    )
    assert response.status_code in (201, 400), response.content
    if response.status_code == 201:
        assert instant(response.json()["start"]) == start


def test_any_reschedule_start_is_answered_without_a_server_error(world, client_for):
    sam = client_for(world.people.sam)
    booking = world.bookings["alice"].pk

    @SETTINGS
    @given(start=any_json)
    def check(start):
        body = {"room": world.rooms[0].pk, "start": start}
        response = rolled_back(lambda: sam.post(f"/api/bookings/{booking}/reschedule/", body, format="json"))
        no_server_error(response, f"start={start!r}")

    for value in TRICKY:
        check.hypothesis.inner_test(start=value)
    check()


# --- ?date= --------------------------------------------------------------------------------


def test_any_slots_date_is_answered_without_a_server_error(world, anon, client_for):
    sam = client_for(world.people.sam)

    @SETTINGS
    @given(day=date_like_text)
    def check(day):
        response = anon.get("/api/slots/", {"date": day})
        no_server_error(response, f"slots date={day!r}")
        assert response.status_code in (200, 400)
        response = sam.get("/api/bookings/", {"date": day})
        no_server_error(response, f"bookings date={day!r}")
        assert response.status_code in (200, 400)

    for value in TRICKY:
        check.hypothesis.inner_test(day=value)
    check()


def test_a_valid_slots_date_lists_that_days_slots(world, anon):
    @SETTINGS
    @given(day=st.dates(min_value=date(2000, 1, 1), max_value=date(2999, 12, 31)))
    def check(day):
        response = anon.get("/api/slots/", {"date": day.isoformat()})
        assert response.status_code == 200, (day, response.content)
        slots = response.json()
        assert slots, f"Room A is open every day, also {day}"
        for slot in slots:
            start = instant(slot["start"])
            assert timezone.localtime(start).date() == day
            assert instant(slot["end"]) > start

    check()


# --- opening hours -------------------------------------------------------------------------


@pytest.fixture
def empty_room(world):
    return f.room("Room E", coil=4)


def test_any_opening_times_and_days_are_answered_without_a_server_error(world, client_for, empty_room):
    sam = client_for(world.people.sam)
    url = f"/api/rooms/{empty_room.pk}/openings/"
    opening = world.openings[1]

    @SETTINGS
    @given(
        start=any_json,
        end=any_json,
        day=st.one_of(any_json, st.just(None)),
        weekdays=st.one_of(any_json, st.lists(any_json, max_size=3), st.lists(st.integers(), max_size=8)),
        which=st.sampled_from(["date", "weekdays", "both"]),
    )
    def check(start, end, day, weekdays, which):
        body = {"start_time": start, "end_time": end, "slot_minutes": 30}
        if which in ("date", "both"):
            body["date"] = day
        if which in ("weekdays", "both"):
            body["weekdays"] = weekdays
        response = rolled_back(lambda: sam.post(url, body, format="json"))
        no_server_error(response, f"POST opening {body!r}")
        response = rolled_back(lambda: sam.patch(f"/api/openings/{opening}/", body, format="json"))
        no_server_error(response, f"PATCH opening {body!r}")

    inner = check.hypothesis.inner_test
    for value in TRICKY:
        inner(start=value, end="10:00", day=None, weekdays=[0], which="weekdays")
        inner(start="09:00", end=value, day=None, weekdays=[0], which="weekdays")
        inner(start="09:00", end="10:00", day=value, weekdays=None, which="date")
        inner(start="09:00", end="10:00", day=None, weekdays=[value], which="weekdays")
    check()


def test_valid_opening_hours_make_the_round_trip(world, client_for, empty_room):
    sam = client_for(world.people.sam)
    url = f"/api/rooms/{empty_room.pk}/openings/"

    @SETTINGS
    @given(
        start_slot=st.integers(min_value=0, max_value=47),
        slots=st.integers(min_value=1, max_value=8),
        slot_minutes=st.sampled_from([10, 15, 30]),
        seconds=st.booleans(),
        day=st.one_of(st.none(), st.dates(min_value=date(2000, 1, 1), max_value=date(2999, 12, 31))),
        weekdays=st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=7),
    )
    def check(start_slot, slots, slot_minutes, seconds, day, weekdays):
        begin = start_slot * 30
        finish = min(begin + slots * slot_minutes, 24 * 60 - slot_minutes)
        if finish <= begin:
            return
        fmt = "{:02d}:{:02d}:00" if seconds else "{:02d}:{:02d}"
        start, end = fmt.format(*divmod(begin, 60)), fmt.format(*divmod(finish, 60))
        body = {"start_time": start, "end_time": end, "slot_minutes": slot_minutes}
        body |= {"date": day.isoformat()} if day else {"weekdays": weekdays}

        def create():
            created = sam.post(url, body, format="json")
            listed = sam.get(url)
            return created, listed

        created, listed = rolled_back(create)
        assert created.status_code == 201, (body, created.content)
        answer = created.json()
        assert answer["start_time"] == start[:5] and answer["end_time"] == end[:5]
        assert answer["slot_minutes"] == slot_minutes
        if day:
            assert answer["date"] == day.isoformat() and answer["weekdays"] == []
        else:
            assert answer["date"] is None and answer["weekdays"] == sorted(set(weekdays))
        assert answer in listed.json()

    check()


# --- closures ------------------------------------------------------------------------------


def test_any_closure_dates_are_answered_without_a_server_error(world, client_for, anon):
    sam = client_for(world.people.sam)
    room = world.rooms[0].pk

    @SETTINGS
    @given(start=any_json, end=any_json, site_wide=st.booleans())
    def check(start, end, site_wide):
        url = "/api/closures/" if site_wide else f"/api/rooms/{room}/closures/"
        body = {"start_date": start, "end_date": end, "reason": "fuzz"}

        def create_then_read():
            created = sam.post(url, body, format="json")
            # Whatever was stored, the slot list and the closure list still answer.
            slots = anon.get("/api/slots/", {"date": f.tomorrow().isoformat()})
            listed = sam.get(url)
            return created, slots, listed

        created, slots, listed = rolled_back(create_then_read)
        no_server_error(created, f"closure {body!r}")
        no_server_error(slots, f"slots after closure {body!r}")
        no_server_error(listed, f"closures after {body!r}")

    inner = check.hypothesis.inner_test
    for value in TRICKY:
        inner(start=value, end="2030-01-02", site_wide=True)
        inner(start="2030-01-01", end=value, site_wide=False)
    check()


def test_valid_closure_dates_make_the_round_trip(world, client_for):
    sam = client_for(world.people.sam)

    @SETTINGS
    @given(start=dates, length=st.integers(min_value=0, max_value=400), site_wide=st.booleans())
    def check(start, length, site_wide):
        end = start + timedelta(days=length) if start <= date(9999, 12, 31) - timedelta(days=length) else start
        url = "/api/closures/" if site_wide else f"/api/rooms/{world.rooms[0].pk}/closures/"
        body = {"start_date": start.isoformat(), "end_date": end.isoformat(), "reason": "holiday"}
        created = rolled_back(lambda: sam.post(url, body, format="json"))
        if created.status_code == 400:  # a range the API refuses (far past/future) is said so
            assert created.json()["code"] in ("invalid", "bad_closure"), created.content
            return
        if created.status_code == 409:  # it falls on active bookings: listed, nothing closed
            assert created.json()["code"] == "bookings_affected" and created.json()["bookings"], created.content
            return
        assert created.status_code == 201, (body, created.content)
        assert created.json()["start_date"] == start.isoformat()
        assert created.json()["end_date"] == end.isoformat()

    check()


# --- promotions ----------------------------------------------------------------------------


def test_any_publication_time_is_answered_without_a_server_error(world, client_for, anon):
    sam = client_for(world.people.sam)

    @SETTINGS
    @given(publish_from=any_json, publish_until=st.one_of(st.none(), any_json))
    def check(publish_from, publish_until):
        body = {"title": "T", "body": "B", "audience": ["visitor"], "publish_from": publish_from}
        if publish_until is not None:
            body["publish_until"] = publish_until

        def create_then_read():
            return sam.post("/api/promotions/", body, format="json"), anon.get("/api/promotions/")

        created, listed = rolled_back(create_then_read)
        no_server_error(created, f"promotion {body!r}")
        no_server_error(listed, "promotions list")
        if created.status_code == 201:
            for key in ("publish_from", "publish_until"):
                if created.json()[key] is not None:
                    instant(created.json()[key])  # an ISO 8601 datetime with an offset

    inner = check.hypothesis.inner_test
    for value in TRICKY:
        inner(publish_from=value, publish_until=None)
        inner(publish_from="2030-01-01T00:00:00+08:00", publish_until=value)
    check()


def test_a_valid_publication_time_makes_the_round_trip(world, client_for):
    sam = client_for(world.people.sam)

    @SETTINGS
    @given(
        when=st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2998, 12, 30)),
        offset=OFFSETS,
        days=st.integers(min_value=1, max_value=400),
    )
    def check(when, offset, days):
        start = when.replace(tzinfo=dt_timezone(offset))
        until = start + timedelta(days=days)
        body = {
            "title": "T",
            "body": "B",
            "audience": ["donor"],
            "publish_from": start.isoformat(),
            "publish_until": until.isoformat(),
        }
        created = rolled_back(lambda: sam.post("/api/promotions/", body, format="json"))
        assert created.status_code == 201, (body, created.content)
        answer = created.json()
        assert instant(answer["publish_from"]) == start
        assert instant(answer["publish_until"]) == until

    check()
