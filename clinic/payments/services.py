"""Payment rules: the price list, opening an order, paying it (desk or WeChat Pay), closing it,
keeping a paid order of a booking that will not happen as credit, and refunding it.

Every change of an order's status is a compare-and-set, so a retried request, a repeated
callback or a second sweep changes nothing the second time. Paying an order marks its
booking's payment as paid, which lets the staff review approve it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.accounts import policy
from clinic.accounts.models import User
from clinic.audit import services as audit
from clinic.audit.models import AuditEvent
from clinic.bookings.models import ACTIVE_STATUSES, Booking, Payment, Purpose
from clinic.bookings.models import Status as BookingStatus
from clinic.errors import Conflict, Forbidden, Invalid, NotFound
from clinic.payments import providers
from clinic.payments.models import FeeItem, PaymentOrder
from clinic.payments.providers import wechat

logger = logging.getLogger(__name__)

Status = PaymentOrder.Status

# The fee a booking of each purpose needs (the seeded price list's code).
BOOKING_FEE_ITEM: dict[str, str] = {Purpose.SELF_PRESERVATION: "self_preservation_collection"}
# A paid order whose booking ended in one of these was never used: it is the client's credit.
CREDIT_BOOKING_STATUSES = (BookingStatus.CANCELLED, BookingStatus.REJECTED, BookingStatus.EXPIRED)


class UnknownItem(Invalid):
    code = "unknown_item"
    default_message = "There is no such fee item."


class FeeItemExists(Conflict):
    code = "fee_item_exists"
    default_message = "A fee item with this code exists already."


class PaymentNotPending(Conflict):
    code = "payment_not_pending"
    default_message = "This booking is not awaiting payment."


class OrderOpen(Conflict):
    code = "order_open"
    default_message = "Another order is open for this booking; pay it, or wait until it closes."


class OrderNotPending(Conflict):
    code = "order_not_pending"


class UnknownOrder(NotFound):
    code = "unknown_order"
    default_message = "No such order."


class NotRefundable(Conflict):
    code = "not_refundable"


class RefundNotPending(Conflict):
    code = "refund_not_pending"


class AmountMismatch(Conflict):
    code = "amount_mismatch"
    default_message = "The amount paid is not the order's amount."


# --- fee items ------------------------------------------------------------------------------


def create_fee_item(*, actor: User, code: str, name: str, amount_fen: int, active: bool = True) -> FeeItem:
    try:
        with transaction.atomic():
            item = FeeItem.objects.create(code=code, name=name, amount_fen=amount_fen, active=active)
    except IntegrityError:
        raise FeeItemExists() from None
    audit.record("payment.fee_item_created", actor=actor, obj=item, data={"code": code, "amount_fen": amount_fen})
    return item


def update_fee_item(*, actor: User, code: str, changes: Mapping[str, Any]) -> FeeItem:
    """Change name, amount or active. Open orders keep the amount they were made with."""
    item = FeeItem.objects.filter(code=code).first()
    if item is None:
        raise NotFound("There is no such fee item.")
    before = {field: getattr(item, field) for field in changes}
    for field, value in changes.items():
        setattr(item, field, value)
    item.save(update_fields=list(changes) or None)
    audit.record("payment.fee_item_updated", actor=actor, obj=item, data={"before": before, "after": dict(changes)})
    return item


# --- orders ---------------------------------------------------------------------------------


def ttl() -> timedelta:
    return timedelta(minutes=settings.PAYMENT_ORDER_TTL_MINUTES)


def _close_claimed(order: PaymentOrder, *, reason: str) -> None:
    """Tell the provider an order we have just closed can no longer be paid (best effort:
    WeChat Pay also refuses it after its time_expire, and a late genuine payment is accepted)."""
    try:
        providers.get(order.provider).close(order)
    except Exception as exc:
        logger.warning("could not close order %s at %s (%s): %s", order.reference, order.provider, reason, exc)


def _close(order_id: int, *, now: datetime, reason: str) -> PaymentOrder | None:
    """Pending → closed, once. Returns the order if this call closed it."""
    if not PaymentOrder.objects.filter(pk=order_id, status=Status.PENDING).update(status=Status.CLOSED, closed_at=now):
        return None
    order = PaymentOrder.objects.select_related("item").get(pk=order_id)
    audit.record("payment.closed", obj=order, reason=reason, data={"reference": order.reference})
    return order


def open_order(*, payer: User, item_code: str, booking_id: int | None = None) -> tuple[PaymentOrder, bool]:
    """An order for a fee item, optionally paying one of the payer's bookings.

    One open order per booking: asking again gives the same pending order (created=False).
    The provider is asked for the QR content outside the transaction; if it does not answer,
    the order stays pending without `code_url` and the next attempt asks again for the same
    order (WeChat Pay answers the same `code_url` for the same out_trade_no)."""
    item = FeeItem.objects.filter(code=item_code, active=True).first()
    if item is None:
        raise UnknownItem(fields={"item": ["There is no such fee item."]})
    now = timezone.now()
    stale: PaymentOrder | None = None
    with transaction.atomic():
        # One order writer per client at a time: finding the open order, then inserting.
        User.objects.select_for_update().filter(pk=payer.pk).first()
        booking = None
        if booking_id is not None:
            booking = Booking.objects.filter(pk=booking_id, donor=payer).first()
            if booking is None:
                raise NotFound("No such booking.")
            if booking.payment != Payment.PENDING or booking.status not in ACTIVE_STATUSES:
                raise PaymentNotPending()
        open_orders = PaymentOrder.objects.select_related("item").filter(payer=payer, status=Status.PENDING)
        if booking is not None:
            order = open_orders.filter(booking=booking).first()
            # His credit pays it, unless an order is open for it already: that one may be paid
            # at this moment (its QR scanned), and a second payment must not follow.
            if order is None and item.code == BOOKING_FEE_ITEM.get(booking.purpose):
                credit = apply_credit(booking)
                if credit is not None:
                    return credit, False
        else:
            order = open_orders.filter(booking=None, item=item).order_by("-created").first()
        if order is not None and order.created <= now - ttl():
            stale, order = _close(order.pk, now=now, reason="expired before it was paid"), None
        if order is not None and order.item_id != item.pk:
            raise OrderOpen()
        created = order is None
        if order is None:
            order = PaymentOrder.objects.create(
                payer=payer, item=item, booking=booking, amount_fen=item.amount_fen, provider=settings.PAYMENT_PROVIDER
            )
            audit.record(
                "payment.order_created",
                actor=payer,
                obj=order,
                data={"reference": order.reference, "item": item.code, "amount_fen": order.amount_fen},
            )
    if stale is not None:
        _close_claimed(stale, reason="expired before it was paid")
    if not order.code_url:
        code_url = providers.get(order.provider).create(order)
        PaymentOrder.objects.filter(pk=order.pk, code_url="").update(code_url=code_url)
        order.refresh_from_db()
    return order, created


def visible_orders(user: User):
    orders = PaymentOrder.objects.select_related("item", "booking").order_by("-created", "-id")
    if policy.can_manage_payments(user):
        return orders
    return orders.filter(payer=user)


def get_visible(user: User, order_id: int) -> PaymentOrder:
    """The order if it is the user's own or the user handles payments; others are not found."""
    order = visible_orders(user).filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.")
    return order


def _mark_paid(
    order: PaymentOrder,
    *,
    via: str,
    expect: tuple[str, ...] = (Status.PENDING,),
    paid_at: datetime | None = None,
    transaction_id: str = "",
    actor: User | None = None,
) -> bool:
    """Order → paid and its booking's payment → paid, each by compare-and-set. False if the
    order was no longer in one of `expect` (already paid: nothing changes)."""
    paid_at = paid_at or timezone.now()
    with transaction.atomic():
        claimed = PaymentOrder.objects.filter(pk=order.pk, status__in=expect).update(
            status=Status.PAID, paid_at=paid_at, transaction_id=transaction_id[:64], confirmed_by=actor
        )
        if not claimed:
            return False
        booking_paid = False
        if order.booking_id:
            booking_paid = bool(
                Booking.objects.filter(pk=order.booking_id, payment=Payment.PENDING).update(
                    payment=Payment.PAID, updated=timezone.now()
                )
            )
        order.refresh_from_db()
        audit.record(
            "payment.paid",
            actor=actor,
            obj=order,
            data={
                "via": via,
                "reference": order.reference,
                "amount_fen": order.amount_fen,
                "transaction_id": order.transaction_id,
                "booking": order.booking_id,
                "booking_marked_paid": booking_paid,
            },
        )
    return True


def confirm_at_desk(*, order_id: int, actor: User, note: str = "") -> PaymentOrder:
    """Staff confirm that the client paid this pending order at the desk."""
    order = PaymentOrder.objects.select_related("item").filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.")
    if not _mark_paid(order, via="cashier", actor=actor):
        order.refresh_from_db()
        audit.record(
            "payment.confirm_refused", actor=actor, obj=order, outcome=AuditEvent.Outcome.REFUSED, reason=order.status
        )
        raise OrderNotPending(f"This order is {order.status}; do not take the money again.")
    if note:
        audit.record("payment.desk_note", actor=actor, obj=order, reason=note)
    # Paid at the desk: a WeChat Pay QR of this order must not take the money a second time.
    _close_claimed(order, reason="paid at the desk")
    return order


def close_unpaid_orders(now: datetime | None = None) -> int:
    """Pending orders older than the TTL, or whose booking is over, are closed (sweep)."""
    now = now or timezone.now()
    due = PaymentOrder.objects.filter(status=Status.PENDING).filter(
        Q(created__lte=now - ttl()) | (Q(booking__isnull=False) & ~Q(booking__status__in=ACTIVE_STATUSES))
    )
    closed = 0
    for pk in list(due.values_list("pk", flat=True)[:1000]):
        order = _close(pk, now=now, reason="not paid in time, or its booking is over")
        if order is not None:
            closed += 1
            _close_claimed(order, reason="not paid in time")
    return closed


# --- WeChat Pay notifications ----------------------------------------------------------------


def _success_time(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return moment if timezone.is_aware(moment) else None


def _refused(exc: Exception, order: PaymentOrder | None = None, **data: Any) -> Exception:
    audit.record(
        "payment.wechat_notification",
        obj=order,
        object_type="payments.paymentorder",
        outcome=AuditEvent.Outcome.REFUSED,
        reason=getattr(exc, "code", "refused"),
        data={"message": str(exc), **data},
    )
    return exc


def receive_wechat_notification(headers: Mapping[str, str], body: bytes) -> PaymentOrder | None:
    """Apply WeChat Pay's signed payment notification. Anything not provably genuine, not for
    a known order of ours or not for its amount is refused and changes nothing; the same
    genuine notification twice pays the order once. Every outcome is audited."""
    try:
        event = wechat.WeChatPayNative().read_notification(headers, body)
    except wechat.NotificationRefused as exc:
        raise _refused(exc, serial=headers.get("Wechatpay-Serial", "")[:64]) from None
    resource = event["resource"]
    reference = str(resource.get("out_trade_no", ""))[:32]
    order = PaymentOrder.objects.select_related("item").filter(reference=reference).first() if reference else None
    if order is None:
        raise _refused(UnknownOrder(), reference=reference)
    if resource.get("mchid") != settings.WECHATPAY_MCHID or resource.get("appid") != settings.WECHATPAY_APPID:
        raise _refused(Forbidden("The payment is for another merchant.", code="wrong_merchant"), order)
    if resource.get("trade_state") != "SUCCESS":
        audit.record(
            "payment.wechat_notification",
            obj=order,
            reason=f"trade_state {resource.get('trade_state')!s:.40}: nothing to do",
            data={"event_type": event.get("event_type")},
        )
        return order
    amount = resource.get("amount") or {}
    if amount.get("total") != order.amount_fen or amount.get("currency", "CNY") != "CNY":
        raise _refused(AmountMismatch(), order, paid=amount.get("total"), expected=order.amount_fen)
    # A genuine payment for an order we closed a moment ago is still money received.
    paid = _mark_paid(
        order,
        via="wechat",
        expect=(Status.PENDING, Status.CLOSED),
        paid_at=_success_time(resource.get("success_time")),
        transaction_id=str(resource.get("transaction_id", "")),
    )
    order.refresh_from_db()
    if not paid:
        same = order.transaction_id == str(resource.get("transaction_id", ""))
        audit.record(
            "payment.wechat_notification",
            obj=order,
            outcome=AuditEvent.Outcome.SUCCESS if same else AuditEvent.Outcome.FAILED,
            reason="repeated notification: already paid" if same else f"paid twice? order is {order.status}",
            data={"transaction_id": resource.get("transaction_id")},
        )
    return order


# --- credit and refunds ---------------------------------------------------------------------


def is_credit(order: PaymentOrder) -> bool:
    """Paid for a booking that will not happen: it pays the client's next booking of its fee item."""
    return order.status == Status.PAID and order.booking is not None and order.booking.status in CREDIT_BOOKING_STATUSES


def credits(orders: QuerySet[PaymentOrder] | None = None) -> QuerySet[PaymentOrder]:
    """The credits among `orders` (all orders by default)."""
    orders = PaymentOrder.objects.all() if orders is None else orders
    return orders.filter(status=Status.PAID, booking__status__in=CREDIT_BOOKING_STATUSES)


def apply_credit(booking: Booking) -> PaymentOrder | None:
    """Pay a booking that awaits payment with the client's credit of its fee item, if he has one
    (the oldest): the order moves to the new booking, which is paid. Runs in the caller's
    transaction; the order row is locked, so a refund and a second booking cannot take it too."""
    code = BOOKING_FEE_ITEM.get(booking.purpose)
    if code is None or booking.payment != Payment.PENDING:
        return None
    with transaction.atomic():
        order = (
            credits(PaymentOrder.objects.filter(payer=booking.donor, item__code=code))
            .select_for_update(of=("self",))
            .select_related("item", "booking")
            .order_by("paid_at", "pk")
            .first()
        )
        if order is None:
            return None
        was = order.booking_id
        order.booking = booking
        order.save(update_fields=["booking"])
        booking.payment = Payment.PAID
        Booking.objects.filter(pk=booking.pk).update(payment=Payment.PAID, updated=timezone.now())
        audit.record(
            "payment.credit_applied",
            obj=order,
            data={"reference": order.reference, "from_booking": was, "to_booking": booking.pk},
        )
    return order


def request_refund(*, order_id: int, actor: User, reason: str) -> PaymentOrder:
    """Staff give a paid order's money back: paid → refund_pending, then WeChat Pay's refund (for
    an order it took) or the cashier's hands (who confirm with confirm_refund). An order still
    paying a booking that is on is refused: cancel the booking first."""
    now = timezone.now()
    with transaction.atomic():
        # The order row alone is locked and read; its booking is read after the lock, so that a
        # credit that moved it to a new booking a moment ago is seen (a join would show the old one).
        order = PaymentOrder.objects.select_for_update().filter(pk=order_id).first()
        if order is None:
            raise NotFound(_("No such order."))
        if order.status != Status.PAID:
            raise NotRefundable(
                _("This order is %(status)s; only a paid order can be refunded.")
                % {"status": order.get_status_display()}
            )
        booking_on = Booking.objects.filter(pk=order.booking_id or 0, status__in=ACTIVE_STATUSES).exists()
        # Paid twice for one booking (a late WeChat Pay payment, say): the extra one goes back.
        others_paid = PaymentOrder.objects.filter(booking=order.booking_id or 0, status=Status.PAID).exclude(
            pk=order.pk
        )
        paid_twice = booking_on and others_paid.exists()
        if booking_on and not paid_twice:
            raise NotRefundable(
                _("This payment belongs to a booking that is still on; cancel the booking first."),
                code="order_in_use",
            )
        by_wechat = order.provider == PaymentOrder.Provider.WECHAT and bool(order.transaction_id)
        order.status = Status.REFUND_PENDING
        order.refund_method = PaymentOrder.Provider.WECHAT if by_wechat else PaymentOrder.Provider.CASHIER
        order.refund_reference = f"{order.reference}R"
        order.refund_reason = reason
        order.refund_requested_at = now
        order.refunded_by = actor
        order.save(
            update_fields=[
                "status",
                "refund_method",
                "refund_reference",
                "refund_reason",
                "refund_requested_at",
                "refunded_by",
            ]
        )
        audit.record(
            "payment.refund_requested",
            actor=actor,
            obj=order,
            reason=reason,
            data={"reference": order.reference, "amount_fen": order.amount_fen, "method": order.refund_method},
        )
    if by_wechat:
        _ask_wechat_refund(order)
        order.refresh_from_db()
    return order


def _refunded(order: PaymentOrder, *, actor: User | None, via: str, note: str = "") -> bool:
    """refund_pending → refunded, once."""
    done = PaymentOrder.objects.filter(pk=order.pk, status=Status.REFUND_PENDING).update(
        status=Status.REFUNDED, refunded_at=timezone.now()
    )
    if done:
        order.refresh_from_db()
        audit.record(
            "payment.refunded",
            actor=actor,
            obj=order,
            reason=note,
            data={"reference": order.reference, "amount_fen": order.amount_fen, "via": via},
        )
    return bool(done)


def _ask_wechat_refund(order: PaymentOrder) -> None:
    """Send (or resend: same out_refund_no) the refund to WeChat Pay and apply its answer. Not
    reached, the order stays refund_pending and the sweep asks again; refused (an error answer,
    or CLOSED: the money never left), it goes to the cashier, who hands the money back and
    confirms. ABNORMAL (the client's bank refused it) waits for the merchant to settle it on
    WeChat Pay's platform; the sweep sees it succeed then."""
    try:
        state = wechat.refund(order)
    except wechat.ProviderUnavailable as exc:
        logger.warning("refund of %s not sent yet: %s", order.reference, exc.message)
        return
    _apply_refund_state(order, state, first=True)


def _apply_refund_state(order: PaymentOrder, state: str, *, first: bool = False) -> None:
    if state == wechat.REFUND_DONE:
        _refunded(order, actor=None, via="wechat")
    elif state == wechat.REFUND_ABNORMAL:
        logger.warning("refund of %s is ABNORMAL at WeChat Pay: settle it on the merchant platform", order.reference)
        if first:
            audit.record(
                "payment.refund_abnormal",
                obj=order,
                outcome=AuditEvent.Outcome.FAILED,
                reason="WeChat Pay could not return the money to the client's account; settle it on its platform",
                data={"reference": order.reference},
            )
    elif state != wechat.REFUND_WAITING:
        PaymentOrder.objects.filter(pk=order.pk, status=Status.REFUND_PENDING).update(
            refund_method=PaymentOrder.Provider.CASHIER
        )
        audit.record(
            "payment.refund_failed",
            obj=order,
            outcome=AuditEvent.Outcome.FAILED,
            reason=f"WeChat Pay refund {state}: to be handed back at the desk",
            data={"reference": order.reference},
        )


def confirm_refund(*, order_id: int, actor: User, note: str = "") -> PaymentOrder:
    """The cashier handed a refund_pending order's money back."""
    order = PaymentOrder.objects.select_related("item", "booking").filter(pk=order_id).first()
    if order is None:
        raise NotFound(_("No such order."))
    if order.status != Status.REFUND_PENDING or order.refund_method != PaymentOrder.Provider.CASHIER:
        raise RefundNotPending(
            _("This order is %(status)s; there is no refund waiting at the desk.")
            % {"status": order.get_status_display()}
        )
    if not _refunded(order, actor=actor, via="cashier", note=note):
        raise RefundNotPending(_("This refund was completed a moment ago."))
    return order


def follow_refunds(limit: int = 100) -> int:
    """Sweep: ask WeChat Pay about refunds it has not finished (or never received)."""
    done = 0
    waiting = PaymentOrder.objects.filter(
        status=Status.REFUND_PENDING, refund_method=PaymentOrder.Provider.WECHAT
    ).order_by("refund_requested_at")[:limit]
    for order in waiting:
        try:
            state = wechat.refund_state(order)
        except wechat.ProviderUnavailable as exc:
            logger.warning("refund of %s: WeChat Pay did not answer: %s", order.reference, exc.message)
            break
        if state is None:
            _ask_wechat_refund(order)
        else:
            _apply_refund_state(order, state)
        order.refresh_from_db()
        done += order.status == Status.REFUNDED
    return done
