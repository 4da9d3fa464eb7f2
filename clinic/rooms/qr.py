"""QR codes for doors, the lobby and flyers (PNG or SVG)."""

from __future__ import annotations

import io
from urllib.parse import quote

import qrcode
import qrcode.image.svg
from django.conf import settings

from clinic.rooms.models import Room


def door_url(room: Room) -> str:
    return f"{settings.SITE_URL}/d/{room.door_token}"


def lobby_url(campaign: str | None = None) -> str:
    url = f"{settings.SITE_URL}/d/lobby"
    return f"{url}?src={quote(campaign, safe='')}" if campaign else url


def _code(data: str) -> qrcode.QRCode:
    # M: survives a scuffed or partly covered print on a door.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(data)
    code.make(fit=True)
    return code


def png(data: str) -> bytes:
    buffer = io.BytesIO()
    _code(data).make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def svg(data: str) -> str:
    image = _code(data).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="unicode")
