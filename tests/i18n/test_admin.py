"""The admin in zh-Hans: our apps and models by their Chinese names (Django's own are translated
by Django)."""

from __future__ import annotations

import re

import pytest


@pytest.mark.zh
def test_the_admin_index_names_our_apps_and_models_in_chinese(people, client):
    root = type(people.adam).objects.create_superuser("root", password="x-Long-pass-2026")
    client.force_login(root)
    html = client.get("/admin/").content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    for name in ("审计记录", "缴费订单", "收费项目", "继电器板", "推广与咨询", "通知", "账户", "登录锁定"):
        assert name in text, name
    for english in ("Payment orders", "Relay modules", "Audit events", "Login throttles", "Consultations"):
        assert english not in text, english


@pytest.mark.zh
def test_admin_lists_and_forms_label_our_fields_in_chinese(people, client):
    from clinic.accounts.models import LoginThrottle
    from clinic.outreach.models import Consultation
    from clinic.payments.models import FeeItem, PaymentOrder
    from clinic.rooms.models import RelayModule

    root = type(people.adam).objects.create_superuser("root", password="x-Long-pass-2026")
    client.force_login(root)
    item = FeeItem.objects.get(code="self_preservation_collection")
    PaymentOrder.objects.create(payer=people.carl, item=item, amount_fen=item.amount_fen)
    Consultation.objects.create(question="?", contact="13812345678")
    RelayModule.objects.create(host="10.0.0.7", port=502, unit=1)
    LoginThrottle.objects.create(username="x", address="127.0.0.1", failures=1)
    pages = {
        "/admin/payments/paymentorder/": ["订单号"],
        "/admin/outreach/consultation/": ["创建时间", "回复时间"],
        "/admin/rooms/relaymodule/": ["帧格式", "离线起始"],
        "/admin/accounts/loginthrottle/": ["用户名", "失败次数"],
    }
    for path, labels in pages.items():
        response = client.get(path)
        assert response.status_code == 200, path
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))
        for label in labels:
            assert label in text, (path, label)
        for english in ("Reference", "Answered at", "Locked until", "Failures"):
            assert english not in text, (path, english)
