"""/book/: the days a client may book come from the server in the clinic's time (today, tomorrow,
weekdays) as far as BOOKING_HORIZON_DAYS reaches; ?move= picks a new time for one's own booking
only."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests import factories as f


def script_data(response, element_id):
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', response.content.decode())
    return json.loads(match[1])


@pytest.mark.zh
def test_days_run_from_today_to_the_horizon_with_their_names(db, client, settings):
    settings.BOOKING_HORIZON_DAYS = 60
    days = script_data(client.get("/book/"), "days-data")
    today = timezone.localdate()
    assert len(days) == 60
    assert [d["date"] for d in days[:2]] == [today.isoformat(), (today + timedelta(days=1)).isoformat()]
    assert [d["name"] for d in days[:2]] == ["今天", "明天"]
    third = today + timedelta(days=2)
    assert days[2]["name"] == ["周一", "周二", "周三", "周四", "周五", "周六", "周日"][third.weekday()]
    assert days[2]["short"] == f"{third:%m-%d}"
    assert days[-1]["date"] == (today + timedelta(days=59)).isoformat()


def test_the_rooms_are_named_for_the_filter(db, client):
    room = f.room("Room A")
    f.room("Old room", active=False)
    assert script_data(client.get("/book/"), "rooms-data") == [{"id": room.pk, "name": "Room A"}]


def test_moving_ones_own_booking(people, client):
    room = f.room("Room A")
    f.weekly_opening(room)
    mine = f.booking(people.alice, room, f.at(f.tomorrow(), "09:00"))
    client.force_login(people.alice)
    response = client.get(f"/book/?move={mine.pk}")
    assert script_data(response, "moving-data")["id"] == mine.pk
    assert 'id="moving"' in response.content.decode()
    assert 'id="waitlist"' not in response.content.decode()


@pytest.mark.parametrize("move", ["other", "over", "junk", "9" * 30, "²", "１２", "-1", "1.0"])
def test_move_of_anything_else_is_plain_booking(people, client, move):
    room = f.room("Room A")
    others = f.booking(people.bob, room, f.at(f.tomorrow(), "09:00"))
    over = f.booking(people.alice, room, f.at(f.tomorrow(), "10:00"), status="completed")
    value = {"other": others.pk, "over": over.pk}.get(move, move)
    client.force_login(people.alice)
    response = client.get(f"/book/?move={value}")
    assert response.status_code == 200
    assert script_data(response, "moving-data") is None
    assert "Room A" not in response.content.decode().split('id="rooms-data"')[0]
