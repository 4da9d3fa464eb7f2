"""WeChat Pay switched on against a local fake server (see wechat_fakes)."""

import pytest

from tests.clinic.payments import wechat_fakes as wx


@pytest.fixture
def fake_wechat(settings):
    with wx.FakeWeChatPay() as fake:
        wx.configure(settings, gateway=fake.url)
        yield fake
