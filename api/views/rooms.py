"""Rooms, opening hours and closures: anyone logged in reads, staff with manage_rooms write."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import Allow
from api.serializers import rooms as s
from clinic.accounts import policy
from clinic.rooms import board, services
from clinic.rooms.models import Closure, Opening, Room
from workflows import closures


class ReadOrManageRooms(BasePermission):
    message = "You do not have permission to manage rooms."

    def has_permission(self, request, view) -> bool:
        if not request.user.is_authenticated:
            return False
        return request.method in SAFE_METHODS or policy.can_manage_rooms(request.user)


def room_data(request, room: Room) -> dict:
    if policy.can_manage_rooms(request.user):
        return s.RoomStaffSerializer(room).data
    return s.RoomSerializer(room).data


class RoomListView(APIView):
    permission_classes = [ReadOrManageRooms]

    @extend_schema(responses={200: s.RoomAnswerSerializer(many=True)})
    def get(self, request):
        rooms = Room.objects.select_related("relay").order_by("name")
        if not policy.can_manage_rooms(request.user):
            rooms = rooms.filter(active=True)
        return Response([room_data(request, room) for room in rooms])

    @extend_schema(request=s.RoomWriteSerializer, responses={201: s.RoomStaffSerializer})
    def post(self, request):
        body = s.RoomWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        room = services.create_room(
            actor=request.user, name=data["name"], lock=data.get("lock"), door_qr_mode=data["door_qr_mode"]
        )
        return Response(room_data(request, room), status=status.HTTP_201_CREATED)


class RoomDetailView(APIView):
    permission_classes = [ReadOrManageRooms]

    def _room(self, request, pk: int) -> Room:
        rooms = Room.objects.select_related("relay")
        if not policy.can_manage_rooms(request.user):
            rooms = rooms.filter(active=True)
        return get_object_or_404(rooms, pk=pk)

    @extend_schema(responses={200: s.RoomAnswerSerializer})
    def get(self, request, pk: int):
        return Response(room_data(request, self._room(request, pk)))

    @extend_schema(request=s.RoomWriteSerializer, responses={200: s.RoomStaffSerializer})
    def patch(self, request, pk: int):
        room = self._room(request, pk)
        body = s.RoomWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        changes = {k: v for k, v in body.validated_data.items() if k in request.data}
        room = services.update_room(actor=request.user, room=room, changes=changes)
        return Response(room_data(request, room))


class RotateDoorTokenView(APIView):
    permission_classes = [ReadOrManageRooms]  # a POST: manage_rooms

    @extend_schema(request=None, responses={200: s.RoomStaffSerializer})
    def post(self, request, pk: int):
        room = services.rotate_door_token(actor=request.user, room=get_object_or_404(Room, pk=pk))
        return Response(room_data(request, room))


class RoomOpeningsView(APIView):
    permission_classes = [ReadOrManageRooms]

    @extend_schema(responses={200: s.OpeningSerializer(many=True)})
    def get(self, request, pk: int):
        room = get_object_or_404(Room, pk=pk)
        return Response(s.OpeningSerializer(room.openings.all(), many=True).data)

    @extend_schema(request=s.OpeningSerializer, responses={201: s.OpeningSerializer})
    def post(self, request, pk: int):
        room = get_object_or_404(Room, pk=pk)
        body = s.OpeningSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        opening = services.add_opening(actor=request.user, room=room, **body.validated_data)
        return Response(s.OpeningSerializer(opening).data, status=status.HTTP_201_CREATED)


class OpeningDetailView(APIView):
    permission_classes = [ReadOrManageRooms]

    @extend_schema(responses={200: s.OpeningSerializer})
    def get(self, request, pk: int):
        return Response(s.OpeningSerializer(get_object_or_404(Opening, pk=pk)).data)

    @extend_schema(request=s.OpeningSerializer, responses={200: s.OpeningSerializer})
    def patch(self, request, pk: int):
        opening = get_object_or_404(Opening, pk=pk)
        body = s.OpeningSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        opening = services.update_opening(actor=request.user, opening=opening, changes=dict(body.validated_data))
        return Response(s.OpeningSerializer(opening).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        services.delete_opening(actor=request.user, opening=get_object_or_404(Opening, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClosuresView(APIView):
    """Closures of one room (`pk` given) or site-wide holidays."""

    permission_classes = [ReadOrManageRooms]

    @extend_schema(responses={200: s.ClosureSerializer(many=True)})
    def get(self, request, pk: int | None = None):
        closures = Closure.objects.filter(room_id=pk) if pk else Closure.objects.filter(room__isnull=True)
        if pk:
            get_object_or_404(Room, pk=pk)
        return Response(s.ClosureSerializer(closures, many=True).data)

    @extend_schema(request=s.ClosureSerializer, responses={201: s.ClosureSerializer})
    def post(self, request, pk: int | None = None):
        room = get_object_or_404(Room, pk=pk) if pk else None
        body = s.ClosureSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        closure, cancelled = closures.close(actor=request.user, room=room, **body.validated_data)
        data = s.ClosureSerializer(closure).data | {"cancelled": [booking.pk for booking in cancelled]}
        return Response(data, status=status.HTTP_201_CREATED)


class ClosureView(APIView):
    permission_classes = [Allow(policy.can_manage_rooms)]

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        """Reopen: the closure's days are open again (bookings it cancelled stay cancelled)."""
        closures.reopen(actor=request.user, closure_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RoomStatusView(APIView):
    """The room board: each active room free, booked, in use or alarmed, with donor codes only."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: s.RoomStatusSerializer(many=True)})
    def get(self, request):
        if not policy.can_see_room_board(request.user):
            return Response(
                {"detail": "You do not have permission to see the room board.", "code": "permission_denied"}, 403
            )
        return Response(room_board())


def _brief(booking) -> dict | None:
    if booking is None:
        return None
    return {
        "id": booking.pk,
        "start": timezone.localtime(booking.start).isoformat(),
        "end": timezone.localtime(booking.end).isoformat(),
        "status": booking.status,
        "donor_code": booking.donor.donor_code,
    }


def room_board() -> list[dict]:
    """The board's answer: donor codes only, never a name."""
    return [
        {
            **line,
            "lock_offline_since": _local(line["lock_offline_since"]),
            "current": _brief(line["current"]),
            "next": _brief(line["next"]),
        }
        for line in board.room_board()
    ]


def _local(moment) -> str | None:
    return timezone.localtime(moment).isoformat() if moment is not None else None
