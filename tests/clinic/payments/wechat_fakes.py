"""WeChat Pay without WeChat: test keys made here, signed notifications, and a local fake of the
API (a real HTTP server on 127.0.0.1) that checks the merchant's request signatures and signs
its answers with the "platform" key, as WeChat Pay does in public-key mode."""

from __future__ import annotations

import base64
import functools
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MCHID = "1900000109"
APPID = "wxd678efh567hg6787"
MERCHANT_SERIAL_NO = "3775B6A45ACD588826D15E583A95F5DD00000001"
PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092025000000000000000001"
APIV3_KEY = "0123456789abcdefghijklmnopqrstuv"
CODE_URL = "weixin://wxpay/bizpayurl?pr=FakeQr123"


@dataclass(frozen=True)
class Keys:
    merchant: rsa.RSAPrivateKey  # apiclient_key.pem: the merchant signs requests with it
    platform: rsa.RSAPrivateKey  # WeChat Pay's key: it signs answers and notifications
    stranger: rsa.RSAPrivateKey  # anybody else's

    @staticmethod
    def private_pem(key: rsa.RSAPrivateKey) -> str:
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    @staticmethod
    def public_pem(key: rsa.RSAPrivateKey) -> str:
        return (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )


@functools.cache
def keys() -> Keys:
    return Keys(*(rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)))


def configure(settings, gateway: str = "http://127.0.0.1:9") -> Keys:
    """Turn WeChat Pay on in the test settings (public-key mode). The default gateway is a
    closed port: anything that tries the network fails fast instead of reaching WeChat."""
    k = keys()
    settings.PAYMENT_PROVIDER = "wechat"
    settings.WECHATPAY_MCHID = MCHID
    settings.WECHATPAY_APPID = APPID
    settings.WECHATPAY_MERCHANT_SERIAL_NO = MERCHANT_SERIAL_NO
    settings.WECHATPAY_PRIVATE_KEY = k.private_pem(k.merchant)
    settings.WECHATPAY_APIV3_KEY = APIV3_KEY
    settings.WECHATPAY_PUBLIC_KEY = k.public_pem(k.platform)
    settings.WECHATPAY_PUBLIC_KEY_ID = PUBLIC_KEY_ID
    settings.WECHATPAY_NOTIFY_URL = "https://clinic.example.org/api/payments/notify/wechat/"
    settings.WECHATPAY_GATEWAY = gateway
    settings.WECHATPAY_TIMEOUT_SECONDS = 2
    return k


def sign(key: rsa.RSAPrivateKey, message: str) -> str:
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def encrypt(plaintext: str, *, apiv3_key: str = APIV3_KEY, associated_data: str = "transaction") -> dict:
    nonce = secrets.token_hex(6)  # 12 characters, as WeChat Pay sends
    ciphertext = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plaintext.encode(), associated_data.encode())
    return {
        "original_type": "transaction",
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(ciphertext).decode(),
        "associated_data": associated_data,
        "nonce": nonce,
    }


def transaction(reference: str, total: int, **overrides: Any) -> dict:
    """The decrypted resource of a TRANSACTION.SUCCESS notification."""
    resource = {
        "mchid": MCHID,
        "appid": APPID,
        "out_trade_no": reference,
        "transaction_id": "4200000000" + secrets.token_hex(8),
        "trade_type": "NATIVE",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "OTHERS",
        "attach": "",
        "success_time": "2026-11-29T10:34:56+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"},
    }
    resource.update(overrides)
    return resource


def notification(
    resource: dict,
    *,
    signer: rsa.RSAPrivateKey | None = None,
    timestamp: int | None = None,
    serial: str = PUBLIC_KEY_ID,
    apiv3_key: str = APIV3_KEY,
) -> tuple[dict[str, str], str]:
    """Headers and body of a notification as WeChat Pay posts it, signed by `signer`
    (the platform key unless told otherwise)."""
    body = json.dumps(
        {
            "id": "EV-" + uuid.uuid4().hex,
            "create_time": "2026-11-29T10:34:57+08:00",
            "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS",
            "summary": "支付成功",
            "resource": encrypt(json.dumps(resource, ensure_ascii=False), apiv3_key=apiv3_key),
        },
        ensure_ascii=False,
    )
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = uuid.uuid4().hex
    headers = {
        "Wechatpay-Serial": serial,
        "Wechatpay-Timestamp": stamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": sign(signer or keys().platform, f"{stamp}\n{nonce}\n{body}\n"),
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }
    return headers, body


_AUTH_FIELD = re.compile(r'(\w+)="([^"]*)"')


def merchant_signature_ok(method: str, path: str, body: str, authorization: str) -> bool:
    """Check a request's `Authorization: WECHATPAY2-SHA256-RSA2048 ...` with the merchant's
    public key, as WeChat Pay does."""
    scheme, _, rest = authorization.partition(" ")
    fields = dict(_AUTH_FIELD.findall(rest))
    if scheme != "WECHATPAY2-SHA256-RSA2048" or fields.get("mchid") != MCHID:
        return False
    if fields.get("serial_no") != MERCHANT_SERIAL_NO:
        return False
    message = f"{method}\n{path}\n{fields.get('timestamp')}\n{fields.get('nonce_str')}\n{body}\n"
    try:
        keys().merchant.public_key().verify(
            base64.b64decode(fields.get("signature", "")), message.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass
class FakeWeChatPay:
    """A local stand-in for api.mch.weixin.qq.com: Native orders, closing them, refunds."""

    code_url: str = CODE_URL
    sign_answers: bool = True
    requests: list[dict] = field(default_factory=list)
    # What a refund request answers, and what asking about a refund it holds answers.
    refund_status: str = "SUCCESS"
    refund_http_status: int = 200
    refunds: dict[str, str] = field(default_factory=dict)  # out_refund_no → its state now

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                signed = merchant_signature_ok("POST", self.path, body, self.headers.get("Authorization", ""))
                fake.requests.append(
                    {
                        "path": self.path,
                        "body": json.loads(body) if body else None,
                        "signed": signed,
                        "serial": self.headers.get("Wechatpay-Serial"),
                    }
                )
                if not signed:
                    self.answer(401, {"code": "SIGN_ERROR", "message": "签名错误"})
                elif self.path == "/v3/pay/transactions/native":
                    self.answer(200, {"code_url": fake.code_url})
                elif re.fullmatch(r"/v3/pay/transactions/out-trade-no/\w+/close", self.path):
                    self.answer(204, None)
                elif self.path == "/v3/refund/domestic/refunds":
                    if fake.refund_http_status != 200:
                        self.answer(fake.refund_http_status, {"code": "SYSTEM_ERROR", "message": "系统繁忙"})
                        return
                    number = json.loads(body)["out_refund_no"]
                    fake.refunds.setdefault(number, fake.refund_status)
                    self.answer(
                        200, {"out_refund_no": number, "refund_id": "5030" + number, "status": fake.refunds[number]}
                    )
                else:
                    self.answer(404, {"code": "NOT_FOUND", "message": "no such API"})

            def do_GET(self) -> None:  # a refund's state; a certificate download: public-key mode never asks
                signed = merchant_signature_ok("GET", self.path, "", self.headers.get("Authorization", ""))
                fake.requests.append({"path": self.path, "body": None, "signed": signed, "serial": None})
                match = re.fullmatch(r"/v3/refund/domestic/refunds/(\w+)", self.path)
                if not signed or match is None:
                    self.answer(404, {"code": "NOT_FOUND", "message": "no such API"})
                elif match[1] not in fake.refunds:
                    self.answer(404, {"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"})
                else:
                    self.answer(200, {"out_refund_no": match[1], "status": fake.refunds[match[1]]})

            def answer(self, status: int, payload: dict | None) -> None:
                text = json.dumps(payload) if payload is not None else ""
                stamp, nonce = str(int(time.time())), uuid.uuid4().hex
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(text.encode())))
                self.send_header("Wechatpay-Timestamp", stamp)
                self.send_header("Wechatpay-Nonce", nonce)
                self.send_header("Wechatpay-Serial", PUBLIC_KEY_ID)
                self.send_header("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
                signer = keys().platform if fake.sign_answers else keys().stranger
                self.send_header("Wechatpay-Signature", sign(signer, f"{stamp}\n{nonce}\n{text}\n"))
                self.end_headers()
                self.wfile.write(text.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeWeChatPay:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
