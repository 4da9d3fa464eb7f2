"""GET /api/slots/?date=: the day's slots with the rooms still free. Never names who booked."""

from __future__ import annotations

from django.utils.timezone import localtime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers.rooms import SlotQuerySerializer, SlotSerializer
from clinic.bookings.availability import slots_on


class SlotsView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("date", str, required=True, description="YYYY-MM-DD")],
        responses={200: SlotSerializer(many=True)},
    )
    def get(self, request):
        query = SlotQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        viewer = request.user.pk if request.user.is_authenticated else None  # his own held slot is free to him
        slots = slots_on(query.validated_data["date"], viewer=viewer)
        return Response(
            [
                {
                    "start": localtime(slot.start).isoformat(),
                    "end": localtime(slot.end).isoformat(),
                    "available": slot.available,
                    "free_rooms": [{"id": room.id, "name": room.name} for room in slot.free_rooms],
                    "open_rooms": [room.id for room in slot.open_rooms],
                }
                for slot in slots
            ]
        )
