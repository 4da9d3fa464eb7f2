"""The task inbox (/workflow/, Viewflow's pages) in zh-Hans and in the clinic's time: a 19:00
booking reads 19:00, a review's decision is words, not a raw dict, and Viewflow's own labels are
translated."""

from __future__ import annotations

import re

import pytest
from viewflow.workflow.models import Task

from tests import factories as f
from workflows import bookings as booking_flow

ENGLISH = [
    "Collection booking",
    "Dashboard",
    "Inbox",
    "Queue",
    "Archive",
    "Donation review",
    "Room review",
    "Previous tasks",
    "Next tasks",
    "Created",
    "Finished",
    "Slot started",
]


def visible_text(response) -> str:
    text = re.sub(r"<script.*?</script>|<style.*?</style>", "", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))


@pytest.fixture
def reviewed(people, client):
    room = f.room("Room A")
    f.weekly_opening(room)
    booking = booking_flow.request_booking(
        actor=people.alice, donor=people.alice, room_id=room.pk, start=f.at(f.tomorrow(), "19:00")
    )
    task = next(
        t for t in Task.objects.filter(process__bookingprocess__booking=booking) if t.flow_task.name == "staff_review"
    )
    client.force_login(people.sam)
    assert client.post(f"/api/tasks/{task.pk}/approve/", {}, content_type="application/json").status_code == 200
    return task


@pytest.mark.zh
def test_the_inbox_pages_are_in_chinese_and_local_time(reviewed, client):
    pages = [
        f"/workflow/booking/{reviewed.process_id}/",
        f"/workflow/booking/{reviewed.process_id}/staff_review/{reviewed.pk}/detail/",
        "/workflow/booking/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        text = visible_text(response)
        assert "19:00–19:30" in text, url  # the slot in the clinic's time, never UTC (11:00)
        assert "decision" not in text and "{" not in text, url  # no raw task data
        for word in ENGLISH:
            assert word not in text, (url, word)
    detail = visible_text(client.get(pages[1]))
    assert "捐献审核" in detail and "已批准" in detail  # the review, and its decision in words


def test_in_english_the_titles_are_english(reviewed, client):
    text = visible_text(client.get(f"/workflow/booking/{reviewed.process_id}/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Donation review" in text or "Collection booking" in text
