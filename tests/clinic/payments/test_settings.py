"""PAYMENT_PROVIDER=wechat without its settings, or with bad ones, fails loudly at start-up."""

import os
import subprocess
import sys
from pathlib import Path

from tests.clinic.payments import wechat_fakes as wx

ROOT = Path(__file__).resolve().parents[3]


def manage_check(**env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("WECHATPAY_", "PAYMENT_"))}
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=base | env, capture_output=True, text=True, timeout=120
    )


def wechat_env(tmp_path) -> dict:
    k = wx.keys()
    (tmp_path / "apiclient_key.pem").write_text(k.private_pem(k.merchant))
    (tmp_path / "pub_key.pem").write_text(k.public_pem(k.platform))
    (tmp_path / "apiv3").write_text(wx.APIV3_KEY + "\n")
    return {
        "PAYMENT_PROVIDER": "wechat",
        "WECHATPAY_MCHID": wx.MCHID,
        "WECHATPAY_APPID": wx.APPID,
        "WECHATPAY_MERCHANT_SERIAL_NO": wx.MERCHANT_SERIAL_NO,
        "WECHATPAY_PRIVATE_KEY_FILE": str(tmp_path / "apiclient_key.pem"),
        "WECHATPAY_APIV3_KEY_FILE": str(tmp_path / "apiv3"),
        "WECHATPAY_PUBLIC_KEY_FILE": str(tmp_path / "pub_key.pem"),
        "WECHATPAY_PUBLIC_KEY_ID": wx.PUBLIC_KEY_ID,
    }


def test_a_complete_wechat_setup_from_secret_files_passes(tmp_path):
    result = manage_check(**wechat_env(tmp_path))
    assert result.returncode == 0, result.stderr


def test_missing_wechat_settings_are_named(tmp_path):
    env = wechat_env(tmp_path)
    del env["WECHATPAY_PUBLIC_KEY_ID"], env["WECHATPAY_MCHID"]
    result = manage_check(**env)
    assert result.returncode != 0
    assert "PAYMENT_PROVIDER=wechat needs WECHATPAY_MCHID, WECHATPAY_PUBLIC_KEY_ID" in result.stderr


def test_bad_wechat_values_fail_loudly(tmp_path):
    env = wechat_env(tmp_path)
    short_key = manage_check(**env | {"WECHATPAY_APIV3_KEY_FILE": "", "WECHATPAY_APIV3_KEY": "short"})
    assert "WECHATPAY_APIV3_KEY must be the 32-character APIv3 key" in short_key.stderr
    assert "PAYMENT_PROVIDER='alipay'" in manage_check(PAYMENT_PROVIDER="alipay").stderr


def test_a_key_that_does_not_load_is_reported_by_the_system_check(tmp_path):
    env = wechat_env(tmp_path)
    (tmp_path / "pub_key.pem").write_text("-----BEGIN PUBLIC KEY-----\nbroken\n-----END PUBLIC KEY-----\n")
    result = manage_check(**env)
    assert result.returncode != 0
    assert "payments.E001" in result.stderr
