"""The door scan, manual opening, door QR codes and the printable QR sheet."""

from __future__ import annotations

import re

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import Allow
from api.qr import qr_image_response
from api.serializers.bookings import BookingSerializer, booking_data
from clinic.accounts import policy
from clinic.audit import services as audit
from clinic.errors import Invalid
from clinic.rooms import qr
from clinic.rooms.models import Room
from workflows import doors

_CAMPAIGN = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class ScanRequest(serializers.Serializer):
    door = serializers.CharField(max_length=64)
    action = serializers.ChoiceField(
        choices=list(doors.ACTIONS),
        required=False,
        help_text="`finish`: end the session now (the door page's confirmed button); "
        "`open`: open the door (again) and never finish. Without it a scan does what is due.",
    )


class ScanAnswer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["unlocked", "finished"])
    booking = BookingSerializer()
    repeat_until = serializers.DateTimeField(
        required=False, help_text="After an unlock: until when a scan opens the door again instead of finishing."
    )


class ScanView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=ScanRequest, responses={200: ScanAnswer})
    def post(self, request):
        body = ScanRequest(data=request.data)
        body.is_valid(raise_exception=True)
        result = doors.scan(
            user=request.user, door=body.validated_data["door"], action=body.validated_data.get("action")
        )
        answer = {"action": result.action, "booking": booking_data(request.user, result.booking)}
        if result.repeat_until is not None:
            answer["repeat_until"] = timezone.localtime(result.repeat_until).isoformat()
        return Response(answer)


class OpenRequest(serializers.Serializer):
    reason = serializers.CharField(max_length=255)
    force = serializers.BooleanField(
        required=False, default=False, help_text="Open although a session is in progress in the room (audited)."
    )


class ManualOpenView(APIView):
    permission_classes = [Allow(policy.can_open_door_manually)]

    @extend_schema(request=OpenRequest, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, pk: int):
        room = get_object_or_404(Room.objects.select_related("relay"), pk=pk)
        body = OpenRequest(data=request.data)
        body.is_valid(raise_exception=True)
        doors.open_manually(
            room=room, actor=request.user, reason=body.validated_data["reason"], force=body.validated_data["force"]
        )
        return Response({"room": room.pk, "action": "unlocked"})


class DoorQrView(APIView):
    permission_classes = [Allow(policy.can_manage_rooms)]

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["png", "svg"])],
        responses={(200, "image/png"): OpenApiTypes.BINARY, (200, "image/svg+xml"): OpenApiTypes.STR},
    )
    def get(self, request, pk: int):
        room = get_object_or_404(Room, pk=pk)
        response = qr_image_response(qr.door_url(room), request.query_params.get("format", "png"), f"door-{room.pk}")
        audit.record("room.door_qr_downloaded", actor=request.user, obj=room)
        return response


class DoorQrSheetView(APIView):
    """A print-ready page: every active room's door code with its name, the lobby code and
    any promotional codes (`?campaigns=flyer1,poster2`)."""

    permission_classes = [Allow(policy.can_manage_rooms)]

    @extend_schema(
        parameters=[OpenApiParameter("campaigns", str, description="comma-separated campaign names")],
        responses={(200, "text/html"): OpenApiTypes.STR},
    )
    def get(self, request):
        campaigns = [c.strip() for c in request.query_params.get("campaigns", "").split(",") if c.strip()]
        bad = [c for c in campaigns if not _CAMPAIGN.match(c)]
        if bad or len(campaigns) > 20:
            raise Invalid("Campaign names use letters, digits, - and _ (at most 20 of them).")
        rooms = Room.objects.filter(active=True).order_by("name")
        cards = [{"title": room.name, "svg": qr.svg(qr.door_url(room)), "caption": ""} for room in rooms]
        cards.append({"title": "Lobby", "svg": qr.svg(qr.lobby_url()), "caption": qr.lobby_url()})
        cards += [
            {"title": f"Campaign: {c}", "svg": qr.svg(qr.lobby_url(c)), "caption": qr.lobby_url(c)} for c in campaigns
        ]
        audit.record("room.door_qr_sheet", actor=request.user, data={"campaigns": campaigns})
        html = render_to_string("pages/qr_sheet.html", {"cards": cards}, request=request)
        return HttpResponse(html, content_type="text/html; charset=utf-8")
