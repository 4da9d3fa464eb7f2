"""The waitlist: a client joins for a day, sees his entries (and the slot kept for him), leaves."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import Allow
from api.serializers import waitlist as s
from clinic.accounts import policy
from clinic.bookings import waitlist


class WaitlistView(APIView):
    permission_classes = [Allow(policy.can_book)]

    @extend_schema(operation_id="waitlist_list", responses={200: s.WaitlistEntrySerializer(many=True)})
    def get(self, request):
        return Response([s.entry_data(entry) for entry in waitlist.entries_of(request.user)])

    @extend_schema(request=s.WaitlistJoinSerializer, responses={201: s.WaitlistEntrySerializer})
    def post(self, request):
        body = s.WaitlistJoinSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with transaction.atomic():
            entry = waitlist.join(
                client=request.user, day=data["date"], after=data.get("after"), before=data.get("before"),
                room_id=data.get("room"),
            )  # fmt: skip
        # The offers ran once the entry committed: the answer shows a slot kept for him at once.
        entry = waitlist.entries_of(request.user).get(pk=entry.pk)
        return Response(s.entry_data(entry), status=status.HTTP_201_CREATED)


class WaitlistEntryView(APIView):
    permission_classes = [Allow(policy.can_book)]

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        waitlist.leave(client=request.user, entry_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
