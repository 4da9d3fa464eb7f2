"""Fee items, payment orders, the cashier's confirmation and WeChat Pay's payment notification."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import domain_status
from api.pagination import Pagination, paginated
from api.permissions import Allow
from api.qr import qr_image_response
from api.serializers import payments as s
from clinic.accounts import policy
from clinic.errors import Conflict, DomainError, NotFound
from clinic.payments import services
from clinic.payments.models import FeeItem, PaymentOrder

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class ReadOrManagePayments(BasePermission):
    """Anyone reads the price list; holders of manage_payments change it."""

    message = "You do not have permission to manage fee items."

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return bool(request.user and policy.can_manage_payments(request.user))


def _items_for(request, include_inactive: bool):
    items = FeeItem.objects.order_by("code")
    if include_inactive and policy.can_manage_payments(request.user):
        return items
    return items.filter(active=True)


class FeeItemListView(APIView):
    permission_classes = [ReadOrManagePayments]

    @extend_schema(parameters=[s.FeeItemListQuerySerializer], responses={200: s.FeeItemSerializer(many=True)})
    def get(self, request):
        query = s.FeeItemListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        items = _items_for(request, query.validated_data["all"])
        return Response(s.FeeItemSerializer(items, many=True).data)

    @extend_schema(request=s.FeeItemCreateSerializer, responses={201: s.FeeItemSerializer})
    def post(self, request):
        body = s.FeeItemCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        item = services.create_fee_item(actor=request.user, **data)
        return Response(s.FeeItemSerializer(item).data, status=status.HTTP_201_CREATED)


class FeeItemDetailView(APIView):
    permission_classes = [ReadOrManagePayments]

    @extend_schema(responses={200: s.FeeItemSerializer})
    def get(self, request, code: str):
        item = _items_for(request, include_inactive=True).filter(code=code).first()
        if item is None:
            raise NotFound("There is no such fee item.")
        return Response(s.FeeItemSerializer(item).data)

    @extend_schema(request=s.FeeItemUpdateSerializer, responses={200: s.FeeItemSerializer})
    def patch(self, request, code: str):
        body = s.FeeItemUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = services.update_fee_item(actor=request.user, code=code, changes=body.validated_data)
        return Response(s.FeeItemSerializer(item).data)


class ReadOrPay(BasePermission):
    """Anyone logged in reads his own orders; only clients (bookings.book) open one."""

    message = "Your account cannot pay fees here."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or policy.can_pay_fees(request.user)


class PaymentListView(APIView):
    permission_classes = [ReadOrPay]

    @extend_schema(
        operation_id="payments_list",
        parameters=[s.PaymentListQuerySerializer],
        responses={200: paginated(s.PaymentOrderSerializer(many=True), "PaginatedPaymentOrderList")},
    )
    def get(self, request):
        """Own orders; staff (manage_payments) see all, e.g. `?reference=` read from a desk QR."""
        query = s.PaymentListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = dict(query.validated_data)
        orders = services.visible_orders(request.user)
        if filters.pop("credit", False):
            orders = services.credits(orders)
        orders = orders.filter(**filters)
        paginator = Pagination()
        page = paginator.page_items(orders, request, view=self)
        return paginator.get_paginated_response(s.PaymentOrderSerializer(page, many=True).data)

    @extend_schema(
        request=s.PaymentCreateSerializer,
        responses={201: s.PaymentOrderSerializer, 200: s.PaymentOrderSerializer},
        description="201 with a new order; 200 with the order already open for that booking (or item).",
    )
    def post(self, request):
        body = s.PaymentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order, created = services.open_order(
            payer=request.user, item_code=body.validated_data["item"], booking_id=body.validated_data.get("booking")
        )
        return Response(
            s.PaymentOrderSerializer(order).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class PaymentDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: s.PaymentOrderSerializer})
    def get(self, request, pk: int):
        return Response(s.PaymentOrderSerializer(services.get_visible(request.user, pk)).data)


class PaymentQrView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["png", "svg"])],
        responses={(200, "image/png"): OpenApiTypes.BINARY, (200, "image/svg+xml"): OpenApiTypes.STR},
    )
    def get(self, request, pk: int):
        order = services.get_visible(request.user, pk)
        if order.status != PaymentOrder.Status.PENDING or not order.code_url:
            raise Conflict(f"This order is {order.status}; there is nothing to pay.", code="order_not_pending")
        return qr_image_response(order.code_url, request.query_params.get("format", "png"), f"payment-{order.pk}")


class ConfirmPaymentView(APIView):
    permission_classes = [Allow(policy.can_manage_payments)]

    @extend_schema(request=s.ConfirmSerializer, responses={200: s.PaymentOrderSerializer})
    def post(self, request, pk: int):
        body = s.ConfirmSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        order = services.confirm_at_desk(order_id=pk, actor=request.user, note=body.validated_data["note"])
        return Response(s.PaymentOrderSerializer(order).data)


class RefundView(APIView):
    permission_classes = [Allow(policy.can_manage_payments)]

    @extend_schema(
        request=s.RefundSerializer,
        responses={200: s.PaymentOrderSerializer},
        description="A paid order not paying a booking that is on: refund_pending, then refunded by WeChat Pay "
        "(an order it took) or by the cashier (POST .../refund/confirm/ once the money is handed back).",
    )
    def post(self, request, pk: int):
        body = s.RefundSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = services.request_refund(order_id=pk, actor=request.user, reason=body.validated_data["reason"])
        return Response(s.PaymentOrderSerializer(order).data)


class ConfirmRefundView(APIView):
    permission_classes = [Allow(policy.can_manage_payments)]

    @extend_schema(request=s.ConfirmSerializer, responses={200: s.PaymentOrderSerializer})
    def post(self, request, pk: int):
        """The cashier handed the money of a refund_pending order back."""
        body = s.ConfirmSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        order = services.confirm_refund(order_id=pk, actor=request.user, note=body.validated_data["note"])
        return Response(s.PaymentOrderSerializer(order).data)


class AlwaysJson(BaseContentNegotiation):
    """WeChat Pay's Accept header is not ours to judge: the answer is JSON whatever it says."""

    def select_parser(self, request, parsers):
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _wechat_answer(code: str, message: StrOrPromise, http_status: int) -> Response:
    # WeChat Pay reads {code, message}; the rest of our API reads {detail, code}.
    return Response({"code": code, "message": message, "detail": message}, status=http_status)


class WeChatNotifyView(APIView):
    """WeChat Pay's payment notification: no login, no CSRF; proven by its signature."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    content_negotiation_class = AlwaysJson

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: s.NotificationAnswerSerializer})
    def post(self, request):
        try:
            body = request.body
        except RequestDataTooBig:
            return _wechat_answer("bad_notification", "The notification is too large.", status.HTTP_400_BAD_REQUEST)
        try:
            services.receive_wechat_notification(request.headers, body)
        except DomainError as exc:
            return _wechat_answer(exc.code, exc.message, domain_status(exc))
        return _wechat_answer("SUCCESS", "OK", status.HTTP_200_OK)
