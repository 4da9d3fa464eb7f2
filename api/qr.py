"""A QR code as the HTTP answer: PNG by default, SVG with `?format=svg`."""

from __future__ import annotations

from django.http import HttpResponse

from clinic.errors import Invalid
from clinic.rooms import qr


def qr_image_response(data: str, image_format: str, filename: str) -> HttpResponse:
    if image_format == "svg":
        response = HttpResponse(qr.svg(data), content_type="image/svg+xml")
    elif image_format == "png":
        response = HttpResponse(qr.png(data), content_type="image/png")
    else:
        raise Invalid("format must be png or svg.", fields={"format": ["Choose png or svg."]})
    response["Content-Disposition"] = f'inline; filename="{filename}.{image_format}"'
    response["Cache-Control"] = "no-store"
    return response
