"""The review tasks of the booking process: list, approve, reject (same rules as the inbox)."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import Allow
from api.serializers import tasks as s
from api.serializers.bookings import booking_data, bookings_data
from clinic.accounts import policy
from clinic.bookings.models import Booking, Payment
from workflows import reviews


def task_data(task, booking: Booking, shown: dict) -> dict:
    return {
        "id": task.pk,
        "kind": task.flow_task.name,
        "status": task.status,
        "created": task.created,
        "booking": shown,
        "awaiting_payment": task.flow_task.name == "staff_review" and booking.payment == Payment.PENDING,
    }


class TaskListView(APIView):
    permission_classes = [Allow(policy.can_see_review_tasks)]

    @extend_schema(responses={200: s.TaskSerializer(many=True)})
    def get(self, request):
        tasks = list(reviews.tasks_for(request.user)[:500])
        ids = [task.process.bookingprocess.booking_id for task in tasks]
        by_id = Booking.objects.select_related("room", "donor__donor_profile").in_bulk(ids)
        bookings = [by_id[booking_id] for booking_id in ids]
        shown = bookings_data(request.user, bookings)
        return Response([task_data(*row) for row in zip(tasks, bookings, shown, strict=True)])


class ApproveTaskView(APIView):
    permission_classes = [Allow(policy.can_review_any)]

    @extend_schema(request=s.ApproveSerializer, responses={200: s.ReviewResultSerializer})
    @transaction.atomic  # answer built before commit: a 503 (database gone) then means nothing changed
    def post(self, request, pk: int):
        body = s.ApproveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        booking = reviews.complete_review(
            task_id=pk,
            user=request.user,
            decision="approved",
            comment=body.validated_data["comment"],
            room_id=body.validated_data.get("room"),
        )
        return Response({"booking": booking_data(request.user, booking)})


class RejectTaskView(APIView):
    permission_classes = [Allow(policy.can_review_any)]

    @extend_schema(request=s.RejectSerializer, responses={200: s.ReviewResultSerializer})
    @transaction.atomic
    def post(self, request, pk: int):
        body = s.RejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        booking = reviews.complete_review(
            task_id=pk,
            user=request.user,
            decision="rejected",
            reason=body.validated_data["reason"],
            comment=body.validated_data["comment"],
        )
        return Response({"booking": booking_data(request.user, booking)})
