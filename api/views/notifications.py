"""A user's notifications: the list to catch up after reconnecting, and marking one read."""

from __future__ import annotations

from typing import cast

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import Pagination
from api.serializers import notifications as s
from clinic.accounts.models import User
from clinic.notifications import services
from clinic.notifications.models import Notification


class NotificationListView(ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = s.NotificationSerializer
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[Notification]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Notification.objects.none()
        query = s.NotificationListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        return services.inbox(cast(User, self.request.user), after=data.get("after"), unread=data.get("unread", False))

    @extend_schema(parameters=[s.NotificationListQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class MarkReadView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: s.NotificationSerializer})
    def post(self, request, pk: int):
        return Response(s.NotificationSerializer(services.mark_read(request.user, pk)).data)
