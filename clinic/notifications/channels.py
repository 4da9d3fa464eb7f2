"""Outward channels: a notification that must not be missed also goes by e-mail and SMS.

Each channel takes a delivered notification and sends its own copy; the text is the same
discreet title and body as the push. SMS goes through a backend named by the SMS_BACKEND
setting (a dotted path to a class with `send(phone, text)`); the default only logs.
"""

from __future__ import annotations

import logging
import re
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

from clinic.notifications.models import Notification

logger = logging.getLogger(__name__)

DEFAULT_SMS_BACKEND = "clinic.notifications.channels.LogSmsBackend"


class Channel(Protocol):
    name: str

    def send(self, notification: Notification) -> None: ...


class EmailChannel:
    name = "email"

    def send(self, notification: Notification) -> None:
        address = notification.recipient.email
        if address:
            send_mail(notification.title, notification.body, settings.DEFAULT_FROM_EMAIL, [address])


class LogSmsBackend:
    """Writes the message to the log instead of sending it (no SMS provider configured)."""

    def send(self, phone: str, text: str) -> None:
        # A question's private link is its asker's key: never in a log.
        logger.info("sms to ...%s: %s", phone[-4:], re.sub(r"/ask/[\w-]+/", "/ask/…/", text))


class SmsBackend(Protocol):
    def send(self, phone: str, text: str) -> None: ...


def sms_backend() -> SmsBackend:
    """The SMS_BACKEND setting's backend (also used for people with no account: a visitor)."""
    return import_string(getattr(settings, "SMS_BACKEND", "") or DEFAULT_SMS_BACKEND)()


class SmsChannel:
    name = "sms"

    def send(self, notification: Notification) -> None:
        phone = notification.recipient.phone
        if phone:
            sms_backend().send(phone, f"{notification.title}: {notification.body}")


def outward_channels() -> list[Channel]:
    return [EmailChannel(), SmsChannel()]
