"""Bookings: create (for oneself, or staff on a donor's behalf), list and read."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import Pagination, paginated
from api.permissions import Allow
from api.serializers import bookings as s
from api.serializers.tasks import CancelSerializer, RescheduleSerializer
from clinic.accounts import policy
from clinic.accounts.models import User
from clinic.bookings import calendar, services
from clinic.errors import Forbidden, Invalid, NotFound
from workflows import bookings as booking_flow
from workflows import sessions


def _find_donor(reference: str) -> User:
    query = Q(donor_profile__donor_code=reference.upper())
    if reference.isascii() and reference.isdigit() and len(reference) <= 18:
        query |= Q(pk=int(reference))
    donor = User.objects.filter(query).filter(donor_profile__isnull=False).first()
    if donor is None:
        raise Invalid(
            _("No client with that id or donor code."), code="unknown_donor", fields={"donor": [_("Unknown donor.")]}
        )
    return donor


class BookingListView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="bookings_list",
        parameters=[s.BookingListQuerySerializer],
        responses={200: paginated(s.BookingSerializer(many=True), "PaginatedBookingList")},
    )
    def get(self, request):
        query = s.BookingListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        bookings = services.visible_bookings(request.user)
        filters = query.validated_data
        if "status" in filters:
            bookings = bookings.filter(status=filters["status"])
        if "room" in filters:
            bookings = bookings.filter(room_id=filters["room"])
        if "date" in filters:
            day_start = datetime.combine(filters["date"], datetime.min.time(), tzinfo=timezone.get_default_timezone())
            bookings = bookings.filter(start__gte=day_start, start__lt=day_start + timedelta(days=1))
        paginator = Pagination()
        page = paginator.page_items(bookings, request, view=self)
        return paginator.get_paginated_response(s.bookings_data(request.user, page))

    @extend_schema(request=s.BookingCreateSerializer, responses={201: s.BookingSerializer})
    @transaction.atomic  # answer built before commit: a 503 (database gone) then means nothing changed
    def post(self, request):
        body = s.BookingCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data.get("donor"):
            if not policy.can_manage_bookings(request.user):
                raise Forbidden(_("Only staff may book on a donor's behalf."))
            donor = _find_donor(data["donor"])
        else:
            if not policy.can_book(request.user):
                raise Forbidden(_("Your account cannot book collection slots."))
            donor = request.user
        booking = booking_flow.request_booking(
            actor=request.user, donor=donor, room_id=data["room"], start=data["start"], purpose=data.get("purpose")
        )
        return Response(s.booking_data(request.user, booking), status=status.HTTP_201_CREATED)


class BookingDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: s.BookingSerializer})
    def get(self, request, pk: int):
        return Response(s.booking_data(request.user, services.get_visible(request.user, pk)))


class CalendarRenderer(BaseRenderer):
    media_type = "text/calendar"
    format = "ics"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return json.dumps(data, ensure_ascii=False).encode() if not isinstance(data, str) else data.encode()


class BookingCalendarView(APIView):
    """The owner's booking as a discreet calendar event (no clinic, no service, no link)."""

    permission_classes = [IsAuthenticated]
    # A calendar app may ask for text/calendar alone; errors still answer in JSON.
    renderer_classes = [JSONRenderer, CalendarRenderer]

    @extend_schema(responses={(200, "text/calendar"): OpenApiTypes.STR})
    def get(self, request, pk: int):
        booking = services.get_visible(request.user, pk)
        if booking.donor_id != request.user.pk:
            raise NotFound(_("No such booking."))
        response = HttpResponse(calendar.ics(booking), content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="appointment.ics"'
        response["Cache-Control"] = "private, no-store"
        return response


class CancelBookingView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=CancelSerializer, responses={200: s.BookingSerializer})
    @transaction.atomic
    def post(self, request, pk: int):
        body = CancelSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        booking = booking_flow.cancel_booking(booking_id=pk, actor=request.user, reason=body.validated_data["reason"])
        return Response(s.booking_data(request.user, booking))


class RescheduleBookingView(APIView):
    permission_classes = [IsAuthenticated]  # the owner or staff: decided by the booking process

    @extend_schema(request=RescheduleSerializer, responses={200: s.BookingSerializer})
    @transaction.atomic
    def post(self, request, pk: int):
        booking_flow.movable_by(request.user, pk)  # someone else's booking: 404/403 before the body is read
        body = RescheduleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        booking = booking_flow.reschedule(
            booking_id=pk, actor=request.user, room_id=body.validated_data["room"], start=body.validated_data["start"]
        )
        return Response(s.booking_data(request.user, services.get_visible(request.user, booking.pk)))


class CloseSessionView(APIView):
    permission_classes = [Allow(policy.can_manage_bookings)]

    @extend_schema(request=CancelSerializer, responses={200: s.BookingSerializer})
    @transaction.atomic
    def post(self, request, pk: int):
        body = CancelSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        booking = sessions.close_session(booking_id=pk, actor=request.user, reason=body.validated_data["reason"])
        return Response(s.booking_data(request.user, services.get_visible(request.user, booking.pk)))
