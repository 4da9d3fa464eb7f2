"""Server-rendered pages for visitors and donors; their data comes from the REST API."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import ensure_csrf_cookie

from api.pages.forms import RegisterForm
from api.throttles import RegistrationsPerAddress
from clinic.accounts import policy
from clinic.accounts import services as account_services
from clinic.accounts.models import DonorStatus
from clinic.bookings import journey
from clinic.bookings.models import Booking, Purpose, Status
from clinic.errors import DomainError
from clinic.outreach import services as outreach
from clinic.rooms.models import Room
from workflows import doors


def safe_next(request: HttpRequest, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


@ensure_csrf_cookie
def home(request: HttpRequest) -> HttpResponse:
    # A donor sees where he is in his journey and the kind of visit he books next.
    profile = getattr(request.user, "donor_profile", None) if request.user.is_authenticated else None
    step = journey.next_step(profile) if profile is not None else ""
    return render(request, "pages/home.html", {"journey_step": step, "donor_code": getattr(profile, "donor_code", "")})


@ensure_csrf_cookie
def lobby(request: HttpRequest) -> HttpResponse:
    """What the lobby (or a flyer's) QR code opens: booking without logging in first."""
    return render(request, "pages/lobby.html", {"campaign": request.GET.get("src", "")[:40]})


@ensure_csrf_cookie
def door(request: HttpRequest, token: str) -> HttpResponse:
    """The page a door's QR code opens. It never says who is inside or who booked."""
    room = Room.objects.filter(door_token=token, active=True).first()
    if room is None:
        return render(request, "pages/door_invalid.html", status=404)
    context = {"room": room, "door_token": token, "shared": room.door_qr_mode == "shared"}
    if request.user.is_authenticated:
        view = doors.door_view(request.user, room)
        context |= {"view": view, "booking": view.booking}
    return render(request, "pages/door.html", context)


WEEKDAYS = (
    gettext_lazy("Mon"),
    gettext_lazy("Tue"),
    gettext_lazy("Wed"),
    gettext_lazy("Thu"),
    gettext_lazy("Fri"),
    gettext_lazy("Sat"),
    gettext_lazy("Sun"),
)


def bookable_days() -> list[dict[str, str]]:
    """The days a client may book, in the clinic's time: today, tomorrow, then weekdays, as far
    as BOOKING_HORIZON_DAYS reaches."""
    today = timezone.localdate()
    days = []
    for offset in range(settings.BOOKING_HORIZON_DAYS):  # the last one's slots all lie within the horizon
        day = today + timedelta(days=offset)
        name = _("Today") if offset == 0 else _("Tomorrow") if offset == 1 else str(WEEKDAYS[day.weekday()])
        days.append({"date": day.isoformat(), "name": name, "short": f"{day:%m-%d}"})
    return days


@ensure_csrf_cookie
def book(request: HttpRequest) -> HttpResponse:
    """Free times. `?room=` narrows them to one room (shown, and removable); `?move=<booking>`
    picks a new time for one of the client's own bookings."""
    rooms = list(Room.objects.filter(active=True).order_by("name").values("id", "name"))
    moving = None
    move_id = request.GET.get("move", "")
    if request.user.is_authenticated and re.fullmatch(r"[0-9]{1,11}", move_id):
        moving = (
            Booking.objects.select_related("room")
            .filter(pk=int(move_id), donor=request.user, status__in=(Status.PENDING, Status.APPROVED))
            .first()
        )
    context = {
        "days": bookable_days(),
        "rooms": rooms,
        "moving": moving,
        "moving_json": {"id": moving.pk, "start": timezone.localtime(moving.start).isoformat()} if moving else None,
    }
    return render(request, "pages/book.html", context)


@ensure_csrf_cookie
def my_bookings(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return HttpResponseRedirect(f"{settings.LOGIN_URL}?next=/me/bookings/")
    return render(request, "pages/my_bookings.html")


def register(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, "/book/")
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and not RegistrationsPerAddress().allow_request(request, None):
        form.add_error(None, _("Too many registrations from this connection; please try again later."))
    elif request.method == "POST" and form.is_valid():
        try:
            user = account_services.register(**form.cleaned_data)
        except DomainError as exc:
            for field, messages in exc.fields.items():
                for message in messages:
                    form.add_error(field if field in form.fields else None, message)
            if not exc.fields:
                form.add_error(None, exc.message)
        else:
            login(request, user, backend="clinic.accounts.backends.LockoutModelBackend")
            return HttpResponseRedirect(next_url)
    return render(request, "pages/register.html", {"form": form, "next": next_url})


class SignInView(LoginView):
    template_name = "pages/login.html"
    redirect_authenticated_user = False

    def form_invalid(self, form):
        if getattr(self.request, "login_refusal", None) is not None:
            form.errors.clear()
            form.add_error(None, _("Too many failed logins for this account. Try again later."))
        return super().form_invalid(form)


def not_found(request: HttpRequest) -> HttpResponse:
    raise Http404


def _staff_page(
    request: HttpRequest, template: str, allowed: Callable[..., bool], extra: dict | None = None
) -> HttpResponse:
    user = request.user
    if not user.is_authenticated:
        return HttpResponseRedirect(f"{settings.LOGIN_URL}?next={request.path}")
    if not allowed(user):
        return render(request, "pages/forbidden.html", status=403)
    # What the page's script shows or hides; the API decides again on every call.
    perms = {
        "manage_bookings": policy.can_manage_bookings(user),
        "view_donor_identity": policy.can_see_donor_identity(user),
        "manage_donors": policy.can_manage_donors(user),
        "review_room": policy.can_review(user, "room"),
        "review_donation": policy.can_review(user, "staff"),
        "manage_rooms": policy.can_manage_rooms(user),
        "operate_doors": policy.can_open_door_manually(user),
    }
    # Labels of booking statuses, visit purposes and donor statuses (their values never clash).
    labels = [*Status.choices, *Purpose.choices, *DonorStatus.choices]
    context = {"perms_json": perms, "statuses": Status.choices, "labels": labels, **(extra or {})}
    return render(request, template, context)


# The staff console's pages: (key, title, address, who may open it).
STAFF_SECTIONS: list[tuple[str, Any, str, Callable[..., bool]]] = [
    ("today", gettext_lazy("Today"), "/staff/", policy.can_open_staff_console),
    ("bookings", gettext_lazy("Bookings"), "/staff/bookings/", policy.can_open_staff_console),
    ("donors", gettext_lazy("Donors"), "/staff/donors/", policy.can_see_donor_identity),
    ("rooms", gettext_lazy("Rooms and opening hours"), "/staff/rooms/", policy.can_manage_rooms),
    ("questions", gettext_lazy("Questions and promotions"), "/staff/questions/", policy.can_manage_promotions),
    ("desk", gettext_lazy("Payment desk"), "/staff/desk/", policy.can_manage_payments),
]


@ensure_csrf_cookie
def staff_console(request: HttpRequest, section: str = "today") -> HttpResponse:
    """Staff, page by page: the day board and donation reviews, all bookings, donors, rooms and
    hours, questions and promotions, the payment desk; links to the task inbox."""
    user = request.user
    allowed = next((may for key, _title, _href, may in STAFF_SECTIONS if key == section), None)
    if allowed is None:
        raise Http404
    sections = [(key, title, href) for key, title, href, may in STAFF_SECTIONS if user.is_authenticated and may(user)]

    def may_open(person: Any) -> bool:
        return policy.can_open_staff_console(person) and allowed(person)

    return _staff_page(request, "pages/staff.html", may_open, {"section": section, "sections": sections})


@ensure_csrf_cookie
def room_console(request: HttpRequest) -> HttpResponse:
    """Room managers: room review tasks and the live room board, with donor codes only."""
    return _staff_page(request, "pages/rooms_board.html", policy.can_open_room_console)


@ensure_csrf_cookie
def my_messages(request: HttpRequest) -> HttpResponse:
    """Every user's messages (the notifications he was sent), newest first."""
    if not request.user.is_authenticated:
        return HttpResponseRedirect(f"{settings.LOGIN_URL}?next=/me/messages/")
    return render(request, "pages/messages.html")


@ensure_csrf_cookie
def my_payments(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return HttpResponseRedirect(f"{settings.LOGIN_URL}?next=/me/payments/")
    return render(request, "pages/my_payments.html")


def question(request: HttpRequest, token: str) -> HttpResponse:
    """A question's private page (its link is the asker's, sent by SMS to a visitor): the question
    and the answer, nothing about who asked or who answered."""
    consultation = outreach.by_token(token)
    if consultation is None:
        raise Http404
    response = render(request, "pages/question.html", {"consultation": consultation})
    response["Cache-Control"] = "private, no-store"
    return response


def pay(request: HttpRequest, reference: str) -> HttpResponse:
    """What a desk payment QR opens: the fee and its state, nothing about the person."""
    from clinic.payments.models import PaymentOrder

    order = PaymentOrder.objects.select_related("item").filter(reference=reference).first()
    if order is None:
        raise Http404
    return render(request, "pages/pay.html", {"order": order, "yuan": f"{order.amount_fen / 100:.2f}"})
