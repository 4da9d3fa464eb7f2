"""POST/GET /api/payments/, GET /api/payments/{id}/ and /qr/, POST /api/payments/{id}/confirm/
with the offline cashier provider (the default)."""

import pytest
from django.conf import settings

from clinic.audit.models import AuditEvent
from clinic.bookings.models import Booking
from clinic.payments.models import FeeItem, PaymentOrder
from tests import factories as f

ITEM = "self_preservation_collection"


@pytest.fixture
def room(db):
    room = f.room("Room A")
    f.weekly_opening(room)
    return room


@pytest.fixture
def carls_booking(people, room):
    return f.booking(people.carl, room, f.at(f.tomorrow(), "09:00"), purpose="self_preservation", payment="pending")


def pay(client, item=ITEM, booking=None):
    body = {"item": item} if booking is None else {"item": item, "booking": booking.pk}
    return client.post("/api/payments/", body, format="json")


def test_a_client_opens_an_order_for_his_booking(people, client_for, carls_booking):
    response = pay(client_for(people.carl), booking=carls_booking)
    assert response.status_code == 201, response.content
    data = response.json()
    order = PaymentOrder.objects.get()
    item = FeeItem.objects.get(code=ITEM)
    assert data["id"] == order.pk
    assert (data["status"], data["amount_fen"], data["item"], data["booking"]) == (
        "pending",
        item.amount_fen,
        ITEM,
        carls_booking.pk,
    )
    assert data["code_url"] == f"{settings.SITE_URL}/pay/{order.reference}"
    assert (order.payer, order.booking, order.provider, order.code_url) == (
        people.carl,
        carls_booking,
        "cashier",
        data["code_url"],
    )
    assert AuditEvent.objects.filter(action="payment.order_created", actor=people.carl).count() == 1


def test_asking_again_gives_the_same_open_order(people, client_for, carls_booking):
    first = pay(client_for(people.carl), booking=carls_booking)
    second = pay(client_for(people.carl), booking=carls_booking)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert PaymentOrder.objects.count() == 1


def test_another_item_for_a_booking_with_an_open_order_is_a_409(people, client_for, carls_booking):
    assert pay(client_for(people.carl), booking=carls_booking).status_code == 201
    response = pay(client_for(people.carl), item="storage_yearly", booking=carls_booking)
    assert response.status_code == 409
    assert response.json()["code"] == "order_open"
    assert PaymentOrder.objects.count() == 1


def test_an_order_keeps_its_amount_when_the_price_changes(people, client_for, carls_booking):
    amount = pay(client_for(people.carl), booking=carls_booking).json()["amount_fen"]
    FeeItem.objects.filter(code=ITEM).update(amount_fen=amount + 1000)
    again = pay(client_for(people.carl), booking=carls_booking)
    assert again.json()["amount_fen"] == amount == PaymentOrder.objects.get().amount_fen


def test_someone_elses_or_a_missing_booking_is_a_404(people, client_for, carls_booking):
    assert pay(client_for(people.alice), booking=carls_booking).status_code == 404
    response = client_for(people.carl).post("/api/payments/", {"item": ITEM, "booking": 999999}, format="json")
    assert response.status_code == 404
    assert not PaymentOrder.objects.exists()


@pytest.mark.parametrize("payment,status", [("not_required", "pending"), ("paid", "pending"), ("pending", "expired")])
def test_a_booking_not_awaiting_payment_is_a_409(people, client_for, room, payment, status):
    booking = f.booking(people.carl, room, f.at(f.tomorrow(), "10:00"), payment=payment, status=status)
    response = pay(client_for(people.carl), booking=booking)
    assert response.status_code == 409
    assert response.json()["code"] == "payment_not_pending"
    assert not PaymentOrder.objects.exists()


def test_an_order_without_a_booking(people, client_for):
    first = pay(client_for(people.alice), item="storage_yearly")
    assert first.status_code == 201
    assert first.json()["booking"] is None
    assert pay(client_for(people.alice), item="storage_yearly").json()["id"] == first.json()["id"]
    assert PaymentOrder.objects.count() == 1


@pytest.mark.parametrize(
    "body", [{"item": "no_such_fee"}, {"item": ""}, {}, {"item": ITEM, "booking": "x"}, {"item": ITEM, "booking": 1.5}]
)
def test_a_bad_request_is_a_400(people, client_for, body):
    response = client_for(people.carl).post("/api/payments/", body, format="json")
    assert response.status_code == 400
    assert not PaymentOrder.objects.exists()


def test_an_inactive_item_cannot_be_ordered(people, client_for):
    FeeItem.objects.filter(code="storage_yearly").update(active=False)
    response = pay(client_for(people.alice), item="storage_yearly")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_item"


def test_the_owner_and_staff_read_an_order_others_do_not(people, client_for, anon, carls_booking):
    order_id = pay(client_for(people.carl), booking=carls_booking).json()["id"]
    for persona in ("carl", "sam"):
        response = client_for(getattr(people, persona)).get(f"/api/payments/{order_id}/")
        assert response.status_code == 200
        data = response.json()
        assert {"id", "status", "amount_fen", "item", "booking", "created", "paid_at", "reference"} <= set(data)
        assert data["paid_at"] is None
    for persona in ("alice", "rita", "adam"):
        assert client_for(getattr(people, persona)).get(f"/api/payments/{order_id}/").status_code == 404
    assert anon.get(f"/api/payments/{order_id}/").status_code == 401


def test_the_list_shows_own_orders_and_staff_find_one_by_reference(people, client_for, carls_booking):
    carls = pay(client_for(people.carl), booking=carls_booking).json()
    pay(client_for(people.alice), item="storage_yearly")
    assert [o["id"] for o in client_for(people.carl).get("/api/payments/").json()["results"]] == [carls["id"]]
    assert client_for(people.sam).get("/api/payments/").json()["count"] == 2
    found = client_for(people.sam).get(f"/api/payments/?reference={carls['reference']}").json()
    assert [o["id"] for o in found["results"]] == [carls["id"]]


def test_the_qr_code_encodes_the_code_url(people, client_for, carls_booking):
    order_id = pay(client_for(people.carl), booking=carls_booking).json()["id"]
    png = client_for(people.carl).get(f"/api/payments/{order_id}/qr/")
    assert png.status_code == 200
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    svg = client_for(people.sam).get(f"/api/payments/{order_id}/qr/?format=svg")
    assert svg.status_code == 200 and b"<svg" in svg.content
    assert client_for(people.carl).get(f"/api/payments/{order_id}/qr/?format=gif").status_code == 400
    assert client_for(people.alice).get(f"/api/payments/{order_id}/qr/").status_code == 404


def test_staff_confirm_a_desk_payment_once(people, client_for, carls_booking):
    order_id = pay(client_for(people.carl), booking=carls_booking).json()["id"]
    response = client_for(people.sam).post(f"/api/payments/{order_id}/confirm/", {"note": "cash"}, format="json")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "paid" and data["paid_at"] and data["reference"]
    order = PaymentOrder.objects.get(pk=order_id)
    assert (order.status, order.confirmed_by) == ("paid", people.sam)
    carls_booking.refresh_from_db()
    assert carls_booking.payment == "paid"
    assert AuditEvent.objects.filter(action="payment.paid", actor=people.sam, object_id=str(order_id)).count() == 1
    # The receipt: amount, time and reference.
    receipt = client_for(people.carl).get(f"/api/payments/{order_id}/").json()
    assert (receipt["status"], receipt["amount_fen"], receipt["paid_at"]) == ("paid", order.amount_fen, data["paid_at"])
    # Twice: refused, nothing changes.
    again = client_for(people.sam).post(f"/api/payments/{order_id}/confirm/", format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "order_not_pending"
    assert AuditEvent.objects.filter(action="payment.paid").count() == 1
    assert client_for(people.carl).get(f"/api/payments/{order_id}/qr/").status_code == 409


def test_a_closed_order_cannot_be_confirmed(people, client_for, carls_booking):
    order_id = pay(client_for(people.carl), booking=carls_booking).json()["id"]
    PaymentOrder.objects.filter(pk=order_id).update(status="closed")
    assert client_for(people.sam).post(f"/api/payments/{order_id}/confirm/").status_code == 409
    assert Booking.objects.get(pk=carls_booking.pk).payment == "pending"


@pytest.mark.parametrize("persona,status", [("carl", 403), ("alice", 403), ("rita", 403), ("adam", 403), ("anon", 401)])
def test_only_payment_managers_confirm(people, client_for, carls_booking, persona, status):
    order_id = pay(client_for(people.carl), booking=carls_booking).json()["id"]
    client = client_for(None if persona == "anon" else getattr(people, persona))
    assert client.post(f"/api/payments/{order_id}/confirm/").status_code == status
    assert PaymentOrder.objects.get(pk=order_id).status == "pending"


def test_confirming_an_unknown_order_is_a_404(people, client_for):
    assert client_for(people.sam).post("/api/payments/999999/confirm/").status_code == 404


# (method, path, body) → status per persona; {order} is carl's open order, {other} alice's.
MATRIX = [
    ("get", "/api/fee-items/", None, dict(alice=200, bob=200, carl=200, sam=200, rita=200, anon=200)),
    (
        "post",
        "/api/payments/",
        {"item": "storage_yearly"},
        dict(alice=201, bob=201, carl=201, sam=403, rita=403, anon=401),
    ),
    ("get", "/api/payments/", None, dict(alice=200, bob=200, carl=200, sam=200, rita=200, anon=401)),
    ("get", "/api/payments/{order}/", None, dict(alice=404, bob=404, carl=200, sam=200, rita=404, anon=401)),
    ("get", "/api/payments/{order}/qr/", None, dict(alice=404, bob=404, carl=200, sam=200, rita=404, anon=401)),
    ("get", "/api/payments/{other}/", None, dict(alice=200, bob=404, carl=404, sam=200, rita=404, anon=401)),
    ("post", "/api/payments/{other}/confirm/", None, dict(alice=403, bob=403, carl=403, rita=403, anon=401, sam=200)),
    ("post", "/api/payments/notify/wechat/", {}, dict(alice=403, sam=403, anon=403)),
]


@pytest.mark.parametrize("method,path,body,expected", MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_access_matrix(people, client_for, carls_booking, method, path, body, expected):
    order = pay(client_for(people.carl), booking=carls_booking).json()["id"]
    other = pay(client_for(people.alice), item="self_preservation_collection").json()["id"]
    for persona, status in expected.items():
        client = client_for(None if persona == "anon" else getattr(people, persona))
        url = path.format(order=order, other=other)
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == status, f"{persona} {method} {url}: {response.status_code} {response.content}"
        assert response["Content-Type"].startswith(("application/json", "image/png"))
