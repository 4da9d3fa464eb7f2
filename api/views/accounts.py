"""Registration, token login and logout, the caller's own account, staff account creation."""

from __future__ import annotations

from django.contrib.auth import authenticate, logout, update_session_auth_hash
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import Allow
from api.serializers import accounts as s
from api.throttles import RegistrationsPerAddress
from clinic.accounts import policy, services
from clinic.accounts.models import AccessToken
from clinic.audit import services as audit
from clinic.audit.models import AuditEvent
from clinic.errors import Invalid


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [RegistrationsPerAddress]

    @extend_schema(request=s.RegisterSerializer, responses={201: s.RegisteredSerializer})
    def post(self, request):
        body = s.RegisterSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = services.register(**body.validated_data)
        token = AccessToken.objects.create(user=user)
        return Response(s.account_data(user) | {"token": token.key}, status=status.HTTP_201_CREATED)


class TokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(request=s.TokenRequestSerializer, responses={200: s.TokenSerializer})
    def post(self, request):
        body = s.TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        username = body.validated_data["username"]
        user = authenticate(request, username=username, password=body.validated_data["password"])
        refusal = getattr(request, "login_refusal", None)
        if refusal is not None:
            audit.record(
                "auth.login",
                object_type="accounts.user",
                object_id=username[:64],
                outcome=AuditEvent.Outcome.REFUSED,
                reason="account locked",
            )
            raise refusal
        if user is None or not user.is_active:
            audit.record(
                "auth.login",
                object_type="accounts.user",
                object_id=username[:64],
                outcome=AuditEvent.Outcome.REFUSED,
                reason="bad credentials",
            )
            raise Invalid(gettext("Wrong username or password."), code="bad_credentials")
        token = AccessToken.objects.create(user=user)  # each login its own
        audit.record("auth.login", actor=user, obj=user, data={"method": "token"})
        return Response({"token": token.key})


class LogoutView(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        if isinstance(request.auth, AccessToken):
            request.auth.delete()  # this login's token; the user's other logins go on
        audit.record("auth.logout", actor=request.user, obj=request.user)
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SocketTicketView(APIView):
    """A single-use ticket for opening the notification socket (`?ticket=`), valid 60 s."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={201: s.SocketTicketSerializer})
    def post(self, request):
        ticket = services.issue_socket_ticket(request.user)
        return Response(
            {"ticket": ticket.key, "expires_in": services.SOCKET_TICKET_SECONDS}, status=status.HTTP_201_CREATED
        )


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: s.MeSerializer})
    def get(self, request):
        return Response(s.me_data(request.user))

    @extend_schema(request=s.MeUpdateSerializer, responses={200: s.MeSerializer})
    def patch(self, request):
        body = s.MeUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # A new password ends the user's other tokens and sessions, not the one asking.
        if isinstance(request.auth, AccessToken):
            request.user.keep_token = request.auth.key
        user = services.update_profile(request.user, dict(body.validated_data))
        if "password" in body.validated_data and not isinstance(request.auth, AccessToken):
            update_session_auth_hash(request._request, user)
        return Response(s.me_data(user))


class UsersView(APIView):
    permission_classes = [Allow(policy.can_manage_users)]

    @extend_schema(request=s.CreateUserSerializer, responses={201: s.AccountSerializer})
    def post(self, request):
        body = s.CreateUserSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = services.create_account(actor=request.user, **body.validated_data)
        return Response(s.account_data(user), status=status.HTTP_201_CREATED)
