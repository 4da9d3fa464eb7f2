"""Which permissions each role holds, changed by a system administrator."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import Allow
from api.serializers import accounts as s
from clinic.accounts import policy, services


class RolesView(APIView):
    permission_classes = [Allow(policy.can_manage_roles)]

    @extend_schema(responses={200: s.RoleSerializer(many=True)})
    def get(self, request):
        return Response(services.role_permissions())


class RolePermissionsView(APIView):
    permission_classes = [Allow(policy.can_manage_roles)]

    @extend_schema(request=s.RolePermissionsSerializer, responses={200: s.RoleSerializer})
    def put(self, request, name: str):
        body = s.RolePermissionsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        permissions = services.set_role_permissions(
            actor=request.user, role=name, names=body.validated_data["permissions"]
        )
        return Response({"name": name, "permissions": permissions})
