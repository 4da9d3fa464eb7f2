"""Donors for staff: find one by code, phone or name; move him along his journey."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import Pagination, paginated
from api.permissions import Allow
from api.serializers import donors as s
from clinic.accounts import policy
from clinic.bookings import journey


class DonorListView(APIView):
    permission_classes = [Allow(policy.can_find_donors)]

    @extend_schema(
        operation_id="donors_list",
        parameters=[s.DonorQuerySerializer],
        responses={200: paginated(s.DonorSerializer(many=True), "PaginatedDonorList")},
    )
    def get(self, request):
        query = s.DonorQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        paginator = Pagination()
        page = paginator.page_items(journey.search(query.validated_data.get("q", "")), request, view=self)
        return paginator.get_paginated_response([s.donor_data(profile) for profile in page])


class DonorDetailView(APIView):
    permission_classes = [Allow(policy.can_manage_donors)]

    @extend_schema(request=s.DonorUpdateSerializer, responses={200: s.DonorSerializer})
    @transaction.atomic
    def patch(self, request, donor_code: str):
        body = s.DonorUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        profile = journey.set_status(
            actor=request.user,
            donor_code=donor_code,
            status=body.validated_data["donor_status"],
            note=body.validated_data["note"],
        )
        return Response(s.donor_data(profile))
