"""The persona access matrix: every API endpoint, every page, the task inbox and the admin,
for each persona, with the status the contract (shared/API.md) gives.

Each request runs against the same world (one booking per client, open review tasks,
notifications, questions, payment orders) and is rolled back afterwards, so every persona
meets the world as it was. A route without a row fails `test_every_route_has_a_row`.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from tests import factories as f
from tests.security import world as w
from tests.security.helpers import header_problems

ORDER = ("alice", "bob", "carl", "sam", "rita", "adam", "anon")
ALL = " ".join(["200"] * 7)


def expect(statuses: str) -> dict[str, int]:
    """'alice bob carl sam rita adam anon' statuses in that order."""
    codes = [int(code) for code in statuses.split()]
    assert len(codes) == len(ORDER), statuses
    return dict(zip(ORDER, codes, strict=True))


DAY = f.tomorrow()
FAR = DAY + timedelta(days=50)
PW = "a-Long-pass-2026"

# API rows: (method, path, body, "alice bob carl sam rita adam anon"), token authentication.
API = [
    # accounts and roles
    (
        "post",
        "/api/auth/register/",
        {"username": "newbie", "password": PW, "phone": "13812345678"},
        ALL.replace("200", "201"),
    ),
    ("post", "/api/auth/token/", {"username": "alice", "password": w.PASSWORD}, ALL),
    ("post", "/api/ws-ticket/", None, "201 201 201 201 201 201 401"),
    ("post", "/api/auth/logout/", None, "204 204 204 204 204 204 401"),
    ("get", "/api/me/", None, "200 200 200 200 200 200 401"),
    ("patch", "/api/me/", {"email": "x@example.org"}, "200 200 200 200 200 200 401"),
    ("post", "/api/users/", {"username": "m1", "password": PW, "role": "room_manager"}, "403 403 403 403 403 201 401"),
    ("get", "/api/roles/", None, "403 403 403 403 403 200 401"),
    (
        "put",
        "/api/roles/staff/permissions/",
        {"permissions": ["bookings.view_all_bookings"]},
        "403 403 403 403 403 200 401",
    ),
    (
        "put",
        "/api/roles/self_preservation/permissions/",
        {"permissions": ["bookings.book"]},
        "403 403 403 403 403 200 401",
    ),
    # rooms, opening hours, closures
    ("get", "/api/rooms/", None, "200 200 200 200 200 200 401"),
    (
        "post",
        "/api/rooms/",
        {"name": "Room Z", "lock": {"host": "127.0.0.1", "port": 1, "unit": 1, "coil": 5, "pulse_ms": 500}},
        "403 403 403 201 403 403 401",
    ),
    ("get", "/api/rooms/status/", None, "403 403 403 200 200 403 401"),
    ("get", "/api/rooms/{room}/", None, "200 200 200 200 200 200 401"),
    ("patch", "/api/rooms/{room}/", {"name": "Room A2"}, "403 403 403 200 403 403 401"),
    ("post", "/api/rooms/{room}/door-token/rotate/", None, "403 403 403 200 403 403 401"),
    ("get", "/api/rooms/{room_b}/openings/", None, "200 200 200 200 200 200 401"),
    (
        "post",
        "/api/rooms/{room_b}/openings/",
        {"date": FAR.isoformat(), "start_time": "20:00", "end_time": "21:00", "slot_minutes": 30},
        "403 403 403 201 403 403 401",
    ),
    ("get", "/api/rooms/{room}/closures/", None, "200 200 200 200 200 200 401"),
    (
        "post",
        "/api/rooms/{room}/closures/",
        {"start_date": FAR.isoformat(), "end_date": FAR.isoformat(), "reason": "repair"},
        "403 403 403 201 403 403 401",
    ),
    ("get", "/api/openings/{opening}/", None, "200 200 200 200 200 200 401"),
    ("patch", "/api/openings/{opening}/", {"end_time": "23:50"}, "403 403 403 200 403 403 401"),
    ("delete", "/api/openings/{opening}/", None, "403 403 403 204 403 403 401"),
    ("get", "/api/closures/", None, "200 200 200 200 200 200 401"),
    (
        "post",
        "/api/closures/",
        {"start_date": FAR.isoformat(), "end_date": FAR.isoformat(), "reason": "holiday"},
        "403 403 403 201 403 403 401",
    ),
    ("delete", "/api/closures/999999/", None, "403 403 403 404 403 403 401"),
    ("get", f"/api/slots/?date={DAY.isoformat()}", None, ALL),
    # bookings (every client already has an active booking: 409 active_booking_exists)
    ("get", "/api/bookings/", None, "200 200 200 200 200 200 401"),
    (
        "post",
        "/api/bookings/",
        {"room": "{room_b}", "start": f.at(DAY, "15:00").isoformat()},
        "409 409 409 403 403 403 401",
    ),
    (
        "post",
        "/api/bookings/",
        {"room": "{room_b}", "start": f.at(DAY, "15:00").isoformat(), "donor": "{dora_code}"},
        "403 403 403 201 403 403 401",
    ),
    ("get", "/api/bookings/{alice_booking}/", None, "200 404 404 200 200 404 401"),
    ("get", "/api/bookings/{alice_booking}/calendar.ics", None, "200 404 404 404 404 404 401"),
    ("post", "/api/bookings/{alice_booking}/cancel/", None, "200 404 404 200 403 404 401"),
    (
        "post",
        "/api/bookings/{alice_booking}/reschedule/",
        {"room": "{room_b}", "start": f.at(DAY, "16:00").isoformat()},
        "200 404 404 200 403 404 401",
    ),
    ("post", "/api/bookings/{bob_booking}/close/", None, "403 403 403 409 403 403 401"),
    # the waitlist (every client already has an active booking: 409 active_booking_exists)
    ("get", "/api/waitlist/", None, "200 200 200 403 403 403 401"),
    ("post", "/api/waitlist/", {"date": DAY.isoformat()}, "409 409 409 403 403 403 401"),
    ("delete", "/api/waitlist/999999/", None, "404 404 404 403 403 403 401"),
    # donors: staff find them and move them along their journey
    ("get", "/api/donors/?q=a", None, "403 403 403 200 403 403 401"),
    ("patch", "/api/donors/{dora_code}/", {"donor_status": "suspended", "note": "x"}, "403 403 403 200 403 403 401"),
    # workflow tasks
    ("get", "/api/tasks/", None, "403 403 403 200 200 403 401"),
    ("post", "/api/tasks/{staff_task}/approve/", {}, "403 403 403 200 403 403 401"),
    ("post", "/api/tasks/{room_task}/approve/", {}, "403 403 403 403 200 403 401"),
    ("post", "/api/tasks/{staff_task}/reject/", {"reason": "no"}, "403 403 403 200 403 403 401"),
    ("post", "/api/tasks/{room_task}/reject/", {"reason": "no"}, "403 403 403 403 200 403 401"),
    # doors (nobody has an approved booking for Room A now: every scan is refused)
    ("post", "/api/scan/", {"door": "{door_token}"}, "403 403 403 403 403 403 401"),
    ("post", "/api/rooms/{room}/open/", {"reason": "test"}, "403 403 403 200 403 403 401"),
    ("get", "/api/rooms/{room}/door-qr/", None, "403 403 403 200 403 403 401"),
    ("get", "/api/door-qr-sheet/", None, "403 403 403 200 403 403 401"),
    # notifications
    ("get", "/api/notifications/", None, "200 200 200 200 200 200 401"),
    ("post", "/api/notifications/{alice_notification}/read/", None, "200 404 404 404 404 404 401"),
    # promotions, consultations, FAQ
    ("get", "/api/promotions/", None, ALL),
    ("post", "/api/promotions/shown/", {"promotions": [999999]}, "200 200 200 200 200 200 401"),
    ("post", "/api/promotions/", {"title": "T", "body": "B", "audience": ["donor"]}, "403 403 403 201 403 403 401"),
    ("get", "/api/consultations/", None, "200 200 200 200 200 200 401"),
    ("post", "/api/consultations/", {"question": "When?", "contact": "13700000001"}, ALL.replace("200", "201")),
    ("post", "/api/consultations/{alice_question}/answer/", {"answer": "At 9."}, "403 403 403 200 403 403 401"),
    ("get", "/api/faq/", None, ALL),
    # service
    ("get", "/api/schema/", None, ALL),
    ("get", "/api/docs/", None, ALL),
    ("get", "/healthz", None, ALL),
    # fees and payments
    ("get", "/api/fee-items/", None, ALL),
    ("post", "/api/fee-items/", {"code": "x1", "name": "X", "amount_fen": 100}, "403 403 403 201 403 403 401"),
    ("get", "/api/fee-items/storage_yearly/", None, ALL),
    ("patch", "/api/fee-items/storage_yearly/", {"amount_fen": 120000}, "403 403 403 200 403 403 401"),
    ("get", "/api/payments/", None, "200 200 200 200 200 200 401"),
    # alice already has an open order for this item: the same order again (200)
    ("post", "/api/payments/", {"item": "storage_yearly"}, "200 201 201 403 403 403 401"),
    ("get", "/api/payments/{alice_payment}/", None, "200 404 404 200 404 404 401"),
    ("get", "/api/payments/{alice_payment}/qr/", None, "200 404 404 200 404 404 401"),
    ("post", "/api/payments/{carl_payment}/confirm/", None, "403 403 403 200 403 403 401"),
    # refunds: carl's order is unpaid, so staff are refused by the rule (409), everyone else by role
    ("post", "/api/payments/{carl_payment}/refund/", {"reason": "x"}, "403 403 403 409 403 403 401"),
    ("post", "/api/payments/{carl_payment}/refund/confirm/", None, "403 403 403 409 403 403 401"),
    # WeChat Pay's callback: no login; with the cashier provider it is refused (not_configured)
    ("post", "/api/payments/notify/wechat/", {}, "403 403 403 403 403 403 403"),
]

# Page rows: (method, path, form data, statuses), session login. 302 for a visitor = to /login/.
PAGES = [
    ("get", "/", None, ALL),
    ("get", "/d/lobby", None, ALL),
    ("get", "/d/{door_token}", None, ALL),
    ("get", "/book/", None, ALL),
    ("get", "/me/bookings/", None, "200 200 200 200 200 200 302"),
    ("get", "/me/payments/", None, "200 200 200 200 200 200 302"),
    ("get", "/me/messages/", None, "200 200 200 200 200 200 302"),
    # what a desk payment QR opens: the fee and its state (the reference is 64 random bits)
    ("get", "/pay/{alice_payment_ref}", None, ALL),
    ("get", "/ask/{visitor_question_token}/", None, ALL),
    ("get", "/ask/not-a-token/", None, ALL.replace("200", "404")),
    ("get", "/pay/20260101DEADBEEF00000000", None, ALL.replace("200", "404")),
    ("get", "/register/", None, ALL),
    (
        "post",
        "/register/",
        {"username": "newbie", "password": PW, "phone": "13812345678", "role": "donor"},
        ALL.replace("200", "302"),
    ),
    ("get", "/login/", None, ALL),
    ("post", "/login/", {"username": "bob", "password": w.PASSWORD}, ALL.replace("200", "302")),
    ("put", "/login/", None, ALL),  # Django's LoginView treats PUT as POST: an empty form, shown again
    ("get", "/staff/", None, "403 403 403 200 200 403 302"),
    ("get", "/staff/bookings/", None, "403 403 403 200 200 403 302"),
    ("get", "/staff/donors/", None, "403 403 403 200 403 403 302"),
    ("get", "/staff/rooms/", None, "403 403 403 200 403 403 302"),
    ("get", "/staff/questions/", None, "403 403 403 200 403 403 302"),
    ("get", "/staff/desk/", None, "403 403 403 200 403 403 302"),
    ("get", "/staff/nothing/", None, "404 404 404 404 404 404 404"),
    ("get", "/rooms/", None, "403 403 403 200 200 403 302"),
    ("post", "/logout/", None, ALL.replace("200", "302")),
    ("get", "/logout/", None, ALL.replace("200", "405")),
    # the Viewflow task inbox (a visitor gets a 403 page with a link to log in); holders of
    # view_all_bookings may read any task's detail, only the permitted reviewer may execute it
    ("get", "/workflow/", None, ALL.replace("200", "302")),
    ("get", "/workflow/booking/", None, "403 403 403 200 200 403 403"),
    ("get", "/workflow/booking/inbox/", None, "403 403 403 200 200 403 403"),
    ("get", "/workflow/booking/queue/", None, "403 403 403 200 200 403 403"),
    ("get", "/workflow/booking/archive/", None, "403 403 403 200 200 403 403"),
    ("get", "{staff_task_page}detail/", None, "403 403 403 200 200 403 403"),
    ("get", "{room_task_page}detail/", None, "403 403 403 200 200 403 403"),
    ("get", "{staff_task_page}assign/", None, "403 403 403 200 403 403 403"),
    ("get", "{room_task_page}assign/", None, "403 403 403 403 200 403 403"),
    ("post", "{staff_task_page}assign/", None, "403 403 403 302 403 403 403"),
    ("get", "{staff_task_page}execute/", None, "403 403 403 403 403 403 403"),
    # the Django admin: staff accounts reach the index, holding no model permission by default
    ("get", "/admin/", None, "302 302 302 200 200 200 302"),
    ("get", "/admin/accounts/user/", None, "302 302 302 403 403 403 302"),
    ("get", "/admin/login/", None, "200 200 200 302 302 302 200"),
    ("get", "/accounts/login/", None, ALL),
    # Viewflow's account pages other than login and logout are off (passwords: PATCH /api/me/)
    ("get", "/accounts/password_change/", None, "404 404 404 404 404 404 404"),
    ("get", "/accounts/password_reset/", None, "404 404 404 404 404 404 404"),
    ("get", "/accounts/profile/", None, "404 404 404 404 404 404 404"),
]


@pytest.fixture
def world(people, settings):
    settings.DOOR_LOCK_ADAPTER = "tests.doubles.FakeLock"
    built = w.build(people)
    return built


def _ids(world) -> dict[str, object]:
    from django.urls import reverse

    from clinic.accounts.models import User
    from tests.security.world import open_task_page

    dora = User.objects.get(username="dora")
    ids = world.ids() | {"dora_code": dora.donor_code}
    ids["staff_task_page"] = open_task_page(world.tasks["alice_staff"])
    ids["room_task_page"] = open_task_page(world.tasks["carl_room"])
    assert reverse("booking:inbox")
    return ids


def _fill(value, ids):
    if isinstance(value, str):
        return value.format(**ids) if "{" in value else value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _api_call(world, persona, method, path, body, client_for):
    client = client_for(world.user(persona))
    return getattr(client, method)(path, body, format="json")


def _page_call(world, persona, method, path, body):
    client = Client()
    user = world.user(persona)
    if user is not None:
        client.force_login(user)
    return getattr(client, method)(path, body or {})


def _check_row(world, ids, kind, row, client_for) -> list[str]:
    method, path, body, statuses = row
    path, body = _fill(path, ids), _fill(body, ids)
    if isinstance(body, dict) and isinstance(body.get("room"), str):
        body["room"] = int(body["room"])
    wrong = []
    for persona, status in expect(statuses).items():
        with transaction.atomic():
            if kind == "api":
                response = _api_call(world, persona, method, path, body, client_for)
            else:
                response = _page_call(world, persona, method, path, body)
            transaction.set_rollback(True)
        # Every answer, refusals included, carries the security headers.
        wrong += [f"{method.upper()} as {persona}: {p}" for p in header_problems(response, path)]
        if response.status_code != status:
            wrong.append(
                f"{method.upper()} {path} as {persona}: {response.status_code} (expected {status}) "
                f"{response.content[:160]!r}"
            )
    return wrong


def group_of(path: str) -> str:
    """Rows are checked in groups, each against one freshly built world."""
    if path.startswith("{"):  # a task page of the inbox
        return "workflow"
    segment = path.strip("/").split("/")[1 if path.startswith("/api/") else 0] if path.strip("/") else "home"
    for group, segments in GROUPS.items():
        if segment in segments:
            return group
    return "pages"


GROUPS = {
    "accounts": ("auth", "me", "users", "roles"),
    "rooms": ("rooms", "openings", "closures", "slots", "scan", "door-qr-sheet"),
    "bookings": ("bookings", "tasks"),
    "outreach": ("notifications", "promotions", "consultations", "faq", "schema", "docs", "healthz"),
    "payments": ("fee-items", "payments"),
    "workflow": ("workflow",),
    "admin": ("admin", "accounts"),
}


def _rows(kind: str, group: str) -> list:
    rows = API if kind == "api" else PAGES
    return [row for row in rows if group_of(row[1]) == group]


CASES = sorted({("api", group_of(row[1])) for row in API} | {("page", group_of(row[1])) for row in PAGES})


@pytest.mark.parametrize("kind,group", CASES, ids=[f"{k}-{g}" for k, g in CASES])
def test_access_matrix(world, client_for, redis_url, kind, group):
    ids = _ids(world)
    wrong = []
    for row in _rows(kind, group):
        wrong += _check_row(world, ids, kind, row, client_for)
    assert not wrong, f"{len(wrong)} cell(s) of the access matrix differ:\n  " + "\n  ".join(wrong)


def test_a_visitor_registers_and_then_logs_in(db, anon):
    body = {"username": "v1", "password": PW, "phone": "13812345678"}
    assert anon.post("/api/auth/register/", body, format="json").status_code == 201
    login = {"username": "v1", "password": PW}
    assert anon.post("/api/auth/token/", login, format="json").status_code == 200


# --- every route has a row ------------------------------------------------------------------

METHODS = ("get", "post", "put", "patch", "delete")


def _patterns(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def _methods(pattern: URLPattern) -> set[str]:
    view = pattern.callback
    cls = getattr(view, "view_class", None) or getattr(view, "cls", None)
    if cls is None:  # a function view: a page, read with GET
        return {"get"}
    allowed = {m for m in METHODS if m in getattr(cls, "http_method_names", METHODS) and hasattr(cls, m)}
    return allowed or {"get"}


def required_endpoints() -> set[tuple[str, str]]:
    """(method, route) of every endpoint in api/urls.py and every page in api/pages/urls.py."""
    needed = set()
    for route, pattern in _patterns(get_resolver()):
        module = getattr(pattern.callback, "__module__", "")
        from_api = route.startswith("api/")
        from_pages = module.startswith("api.pages") or (pattern.name in {"logout", "login"} and not from_api)
        if route.startswith(("admin/", "workflow/", "accounts/", "i18n/")):
            continue
        if from_api or from_pages or route in {"healthz"}:
            needed |= {(method, route) for method in _methods(pattern)}
    return needed


def test_every_route_has_a_row(db):
    covered = set()
    sample = {
        **{k: 1 for k in ("room", "room_b", "opening", "alice_booking", "bob_booking", "carl_booking")},
        **{k: 1 for k in ("staff_task", "room_task", "carl_staff_task", "alice_notification")},
        **{k: 1 for k in ("alice_question", "alice_payment", "carl_payment")},
        "door_token": "x" * 30,
        "alice_payment_ref": "R1",
        "visitor_question_token": "T1",
        "dora_code": "D1",
        "staff_task_page": "/workflow/booking/1/staff_review/1/",
        "room_task_page": "/workflow/booking/1/room_review/1/",
    }
    for method, path, _, statuses in API + PAGES:
        if set(statuses.split()) == {"404"}:
            continue  # a route that must not exist
        match = resolve(_fill(path, sample).split("?")[0])
        covered.add((method, match.route))
    missing = sorted(required_endpoints() - covered)
    assert not missing, f"endpoints without a row in the access matrix: {missing}"
    for prefix in ("/workflow/", "/admin/"):
        assert any(path.startswith(prefix) for _, path, _, _ in PAGES), prefix
    assert len(covered) >= 60
