"""API errors: the message is Chinese by default and English for Accept-Language: en."""

from datetime import timedelta

import pytest
from django.utils import translation

from api.errors import exception_handler
from clinic.errors import DomainError, NotFound
from tests import factories as f


def token(client, password, **headers):
    return client.post("/api/auth/token/", {"username": "alice", "password": password}, format="json", **headers)


def test_a_wrong_password_is_told_in_chinese_by_default(people, anon):
    response = token(anon, "nope")
    assert response.status_code == 400
    assert response.json() == {"detail": "用户名或密码错误。", "code": "bad_credentials"}


def test_a_wrong_password_is_told_in_english_to_an_english_client(people, anon):
    response = token(anon, "nope", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json() == {"detail": "Wrong username or password.", "code": "bad_credentials"}


def test_a_formatted_message_keeps_its_value(people, anon):
    for _ in range(6):
        response = token(anon, "wrong")
    assert response.status_code == 429
    assert response.json()["code"] == "account_locked"
    assert "登录失败次数过多" in response.json()["detail"] and "分钟后再试" in response.json()["detail"]
    english = token(anon, "wrong", HTTP_ACCEPT_LANGUAGE="en").json()["detail"]
    assert english.startswith("Too many failed logins for this account. Try again in ")


@pytest.fixture
def room(db):
    room = f.room("Room A")
    f.weekly_opening(room)
    return room


def book(client, room, start, **headers):
    return client.post("/api/bookings/", {"room": room.pk, "start": start.isoformat()}, format="json", **headers)


def test_a_bad_slot_is_refused_in_the_callers_language(people, room, client_for):
    client = client_for(people.alice)
    start = f.at(f.tomorrow(), "09:10")  # off the 30-minute grid: the class's lazy default message
    zh = book(client, room, start).json()
    assert zh == {"detail": "该房间没有从此时间开始的时段。", "code": "not_a_slot"}
    en = book(client, room, start, HTTP_ACCEPT_LANGUAGE="en").json()
    assert en == {"detail": "That room does not offer a slot starting at that time.", "code": "not_a_slot"}


def test_a_message_chosen_at_raise_time_is_translated_too(people, room, client_for):
    client = client_for(people.alice)
    start = f.at(f.tomorrow(), "09:00") - timedelta(days=2)
    assert book(client, room, start).json()["detail"] == "该时段已经开始，请选择较晚的时段。"
    english = book(client, room, start, HTTP_ACCEPT_LANGUAGE="en").json()["detail"]
    assert english == "That slot has already started; choose a later one."


def test_field_errors_are_translated(db, anon):
    body = {"username": "newdonor", "password": "a-long-Passw0rd!", "phone": "12"}
    response = anon.post("/api/auth/register/", body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "手机号码无效。"
    assert response.json()["errors"] == {"phone": ["请输入有效的手机号码。"]}
    response = anon.post("/api/auth/register/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["errors"] == {"phone": ["Enter a valid phone number."]}


def test_an_unknown_api_path_is_a_chinese_404(db, client):
    assert client.get("/api/nowhere/").json() == {"detail": "未找到相关内容。", "code": "not_found"}
    english = client.get("/api/nowhere/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert english == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.parametrize(
    ("language", "refused", "not_found"),
    [("zh-hans", "该操作未被允许。", "未找到相关内容。"), ("en", "The action was refused.", "Not found.")],
)
def test_the_plain_defaults_of_clinic_errors_are_translated_when_rendered(language, refused, not_found):
    with translation.override(language):
        assert exception_handler(DomainError(), {}).data["detail"] == refused
        assert exception_handler(NotFound(), {}).data["detail"] == not_found


def test_a_lazy_message_follows_the_language_of_the_response_not_of_the_raise(people, room):
    from clinic.bookings.services import NotASlot

    with translation.override("en"):
        exc = NotASlot()
    with translation.override("zh-hans"):
        assert exception_handler(exc, {}).data["detail"] == "该房间没有从此时间开始的时段。"


def test_an_unknown_donor_on_a_staff_booking_is_told_in_chinese(people, room, client_for):
    response = client_for(people.sam).post(
        "/api/bookings/",
        {"room": room.pk, "start": f.at(f.tomorrow(), "09:00").isoformat(), "donor": "DNOSUCH9"},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unknown_donor" and body["detail"] == "没有该编号或 ID 的客户。"


def test_a_purpose_the_status_does_not_allow_is_told_in_chinese(people, room, client_for):
    from clinic.accounts.models import DonorProfile

    DonorProfile.objects.filter(user=people.alice).update(donor_status="retest_due")
    response = client_for(people.alice).post(
        "/api/bookings/",
        {"room": room.pk, "start": f.at(f.tomorrow(), "09:00").isoformat(), "purpose": "donation"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "您需要复检：请在下次捐献前预约复检。", "code": "purpose_not_allowed"}
