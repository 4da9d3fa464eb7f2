"""The staff console, page by page (/staff/ and /staff/<section>/): each page shows its own part,
the navigation lists the pages the user may open, and a page beyond his permissions is refused."""

from __future__ import annotations

import pytest

PAGES = {
    "/staff/": 'id="day-board"',
    "/staff/bookings/": 'id="bookings-table"',
    "/staff/donors/": 'id="donor-search"',
    "/staff/rooms/": 'id="site-closure"',
    "/staff/questions/": 'id="questions"',
    "/staff/desk/": 'id="desk-orders"',
}


def test_staff_open_every_page_each_with_its_own_part(people, client):
    client.force_login(people.sam)
    for path, marker in PAGES.items():
        html = client.get(path).content.decode()
        assert marker in html, path
        # One part per page; the navigation names them all, the current one marked.
        others = [m for p, m in PAGES.items() if p != path]
        assert not any(m in html for m in others), path
        assert f'href="{path}" aria-current="page"' in html, path
        for other in PAGES:
            assert f'href="{other}"' in html


def test_a_page_beyond_ones_permissions_is_refused(people, client):
    client.force_login(people.alice)
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    # A room manager sees every booking (donor codes only): the day board and the bookings, no more.
    client.force_login(people.rita)
    html = client.get("/staff/").content.decode()
    assert 'href="/staff/bookings/"' in html and 'href="/staff/donors/"' not in html
    assert client.get("/staff/bookings/").status_code == 200
    for path in ("/staff/donors/", "/staff/rooms/", "/staff/questions/", "/staff/desk/"):
        assert client.get(path).status_code == 403, path


def test_unknown_pages_are_not_found(people, client):
    client.force_login(people.sam)
    assert client.get("/staff/nothing/").status_code == 404


@pytest.mark.parametrize("path", list(PAGES))
def test_visitors_are_sent_to_log_in(db, client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"] == f"/login/?next={path}"
