"""GET/POST /api/fee-items/, PATCH /api/fee-items/{code}/: anyone reads the price list, staff
(payments.manage_payments) change it; amounts are integer fen only."""

import pytest

from clinic.audit.models import AuditEvent
from clinic.payments.models import FeeItem

SEEDED = {"self_preservation_collection", "storage_yearly"}


def test_anyone_reads_the_active_items_as_a_plain_array(people, anon, client_for):
    FeeItem.objects.create(code="old_fee", name="Old", amount_fen=100, active=False)
    for client in (anon, client_for(people.alice), client_for(people.rita)):
        response = client.get("/api/fee-items/")
        assert response.status_code == 200
        items = response.json()
        assert isinstance(items, list)
        assert {item["code"] for item in items} == SEEDED
        assert all(isinstance(item["amount_fen"], int) and item["name"] for item in items)


def test_staff_may_list_inactive_items_too(people, client_for):
    FeeItem.objects.create(code="old_fee", name="Old", amount_fen=100, active=False)
    assert {i["code"] for i in client_for(people.sam).get("/api/fee-items/?all=1").json()} == SEEDED | {"old_fee"}
    assert {i["code"] for i in client_for(people.alice).get("/api/fee-items/?all=1").json()} == SEEDED


def test_staff_create_an_item(people, client_for):
    body = {"code": "semen_analysis", "name": "Semen analysis", "amount_fen": 15000}
    response = client_for(people.sam).post("/api/fee-items/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {**body, "active": True}
    item = FeeItem.objects.get(code="semen_analysis")
    assert (item.name, item.amount_fen, item.active) == ("Semen analysis", 15000, True)
    assert AuditEvent.objects.filter(action="payment.fee_item_created", actor=people.sam).count() == 1


@pytest.mark.parametrize("amount", [150.5, 150.0, "15000", -1, 0, True, None, 2**31])
def test_it_refuses_an_amount_that_is_not_a_positive_integer_of_fen(people, client_for, amount):
    body = {"code": "semen_analysis", "name": "Semen analysis", "amount_fen": amount}
    response = client_for(people.sam).post("/api/fee-items/", body, format="json")
    assert response.status_code == 400
    assert "amount_fen" in response.json()["errors"]
    assert not FeeItem.objects.filter(code="semen_analysis").exists()


def test_it_refuses_a_duplicate_code(people, client_for):
    body = {"code": "storage_yearly", "name": "Again", "amount_fen": 1}
    response = client_for(people.sam).post("/api/fee-items/", body, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "fee_item_exists"
    assert FeeItem.objects.get(code="storage_yearly").name != "Again"


def test_staff_change_the_amount_and_deactivate(people, client_for, anon):
    staff = client_for(people.sam)
    response = staff.patch("/api/fee-items/storage_yearly/", {"amount_fen": 120000}, format="json")
    assert response.status_code == 200
    assert response.json()["amount_fen"] == 120000
    assert FeeItem.objects.get(code="storage_yearly").amount_fen == 120000
    assert staff.patch("/api/fee-items/storage_yearly/", {"active": False}, format="json").status_code == 200
    assert "storage_yearly" not in {i["code"] for i in anon.get("/api/fee-items/").json()}
    assert anon.get("/api/fee-items/storage_yearly/").status_code == 404
    assert staff.get("/api/fee-items/storage_yearly/").json()["active"] is False
    assert AuditEvent.objects.filter(action="payment.fee_item_updated").count() == 2


@pytest.mark.parametrize("body", [{"amount_fen": 99.9}, {"amount_fen": -5}, {"code": "renamed"}, {}])
def test_a_bad_change_is_refused_and_changes_nothing(people, client_for, body):
    before = FeeItem.objects.get(code="storage_yearly")
    response = client_for(people.sam).patch("/api/fee-items/storage_yearly/", body, format="json")
    assert response.status_code == 400
    after = FeeItem.objects.get(code="storage_yearly")
    assert (after.code, after.amount_fen, after.name) == (before.code, before.amount_fen, before.name)


def test_an_unknown_item_is_a_404(people, client_for):
    assert client_for(people.sam).patch("/api/fee-items/nope/", {"amount_fen": 1}, format="json").status_code == 404


@pytest.mark.parametrize("persona,status", [("alice", 403), ("carl", 403), ("rita", 403), ("adam", 403), ("anon", 401)])
def test_only_payment_managers_change_the_price_list(people, client_for, persona, status):
    client = client_for(None if persona == "anon" else getattr(people, persona))
    body = {"code": "x_fee", "name": "X", "amount_fen": 1}
    assert client.post("/api/fee-items/", body, format="json").status_code == status
    assert client.patch("/api/fee-items/storage_yearly/", {"amount_fen": 1}, format="json").status_code == status
    assert not FeeItem.objects.filter(code="x_fee").exists()
    assert FeeItem.objects.get(code="storage_yearly").amount_fen != 1
