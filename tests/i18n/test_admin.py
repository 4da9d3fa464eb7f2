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
