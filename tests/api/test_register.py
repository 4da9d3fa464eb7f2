from django.contrib.auth.models import Group

from clinic.accounts.models import User
from clinic.audit.models import AuditEvent

GOOD = {"username": "newdonor", "password": "a-Long-pass-2026", "phone": "13812345678"}


def test_it_registers_a_donor_with_a_code(db, anon):
    response = anon.post("/api/auth/register/", GOOD, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["username"] == "newdonor"
    assert body["roles"] == ["donor"]
    assert body["donor_code"].startswith("D") and len(body["donor_code"]) == 8
    assert body["token"]
    user = User.objects.get(username="newdonor")
    assert user.phone == "13812345678"
    assert user.donor_profile.donor_code == body["donor_code"]
    assert list(user.groups.values_list("name", flat=True)) == ["donor"]
    assert AuditEvent.objects.filter(action="account.registered", actor=user).exists()


def test_it_registers_a_self_preservation_client(db, anon):
    response = anon.post("/api/auth/register/", GOOD | {"role": "self_preservation"}, format="json")
    assert response.status_code == 201
    assert response.json()["roles"] == ["self_preservation"]


def test_codes_are_not_sequential(db, anon):
    codes = set()
    for n in range(5):
        body = GOOD | {"username": f"d{n}"}
        codes.add(anon.post("/api/auth/register/", body, format="json").json()["donor_code"])
    assert len(codes) == 5


def test_it_refuses_staff_roles(db, anon):
    response = anon.post("/api/auth/register/", GOOD | {"role": "staff"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "role" in response.json()["errors"]
    assert not User.objects.filter(username="newdonor").exists()
    assert Group.objects.get(name="staff").user_set.count() == 0


def test_it_refuses_a_taken_username_case_insensitively(db, anon):
    anon.post("/api/auth/register/", GOOD, format="json")
    response = anon.post("/api/auth/register/", GOOD | {"username": "NewDonor"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "username_taken"
    assert User.objects.filter(username__iexact="newdonor").count() == 1


def test_it_refuses_a_weak_password(db, anon):
    response = anon.post("/api/auth/register/", GOOD | {"password": "123"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "weak_password"
    assert "password" in response.json()["errors"]
    assert not User.objects.exists()


def test_it_refuses_a_bad_phone_and_bad_id_number(db, anon):
    response = anon.post("/api/auth/register/", GOOD | {"phone": "call me"}, format="json")
    assert response.status_code == 400 and "phone" in response.json()["errors"]
    response = anon.post("/api/auth/register/", GOOD | {"id_number": "110101199003070000"}, format="json")
    assert response.status_code == 400 and "id_number" in response.json()["errors"]
    assert not User.objects.exists()


def test_it_accepts_a_valid_id_number(db, anon):
    response = anon.post("/api/auth/register/", GOOD | {"id_number": "11010519491231002X"}, format="json")
    assert response.status_code == 201
    assert User.objects.get().donor_profile.id_number == "11010519491231002X"


def test_missing_fields_are_named(db, anon):
    response = anon.post("/api/auth/register/", {}, format="json")
    assert response.status_code == 400
    assert {"username", "password", "phone"} <= set(response.json()["errors"])


def test_registrations_are_limited_per_address(db, settings):
    """A registration flood from one connection stops at THROTTLE_REGISTER; another address is
    not held up, and the refused ones create nothing."""
    from rest_framework.test import APIClient

    from tests.api.rates import deployed_rates, fresh_counters

    deployed_rates(settings, register="3/hour")
    fresh_counters("register", "198.51.100.7", "198.51.100.8")
    flood = APIClient(REMOTE_ADDR="198.51.100.7")
    for n in range(3):
        assert flood.post("/api/auth/register/", GOOD | {"username": f"bot{n}"}, format="json").status_code == 201
    refused = flood.post("/api/auth/register/", GOOD | {"username": "bot3"}, format="json")
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert not User.objects.filter(username="bot3").exists()
    other = APIClient(REMOTE_ADDR="198.51.100.8")
    assert other.post("/api/auth/register/", GOOD | {"username": "person"}, format="json").status_code == 201
    # The registration page shares the count.
    from django.test import Client

    page = Client(REMOTE_ADDR="198.51.100.7").post(
        "/register/",
        {"username": "bot4", "password": GOOD["password"], "password2": GOOD["password"], "phone": GOOD["phone"]},
    )
    assert page.status_code == 200 and "Too many registrations" in page.content.decode()
    assert not User.objects.filter(username="bot4").exists()
