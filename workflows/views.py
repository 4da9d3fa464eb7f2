"""The review task page (HTML) of the Viewflow inbox: same rules as the API's approve/reject."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.utils import timezone
from django.views import generic
from viewflow.workflow.flow.views import TaskSuccessUrlMixin

from clinic.accounts import policy
from clinic.accounts.models import DonorStatus, User
from clinic.bookings import journey
from clinic.bookings.availability import slots_between
from clinic.bookings.models import Booking, Status
from clinic.errors import DomainError
from workflows.forms import ReviewForm


def room_move_choices(booking: Booking) -> list[tuple[int, str]]:
    """Other rooms free in the booking's own slot (the room manager may move it there)."""

    day = timezone.localtime(booking.start).date()
    for slot in slots_between(day, day, exclude_booking=booking.pk)[day]:
        if slot.start == booking.start and slot.end == booking.end:
            return [(room.id, room.name) for room in slot.free_rooms if room.id != booking.room_id]
    return []


def donor_status_label(booking: Booking) -> str:
    """The donor's status in words (staff only: room managers see the purpose alone)."""
    profile = getattr(booking.donor, "donor_profile", None)
    status = journey.status_of(profile) if profile else None
    return str(DonorStatus(status).label) if status else ""


def donor_history(booking: Booking) -> list[Booking]:
    return list(
        Booking.objects.filter(donor_id=booking.donor_id, status=Status.COMPLETED)
        .exclude(pk=booking.pk)
        .select_related("room")
        .order_by("-start")[:10]
    )


class ReviewTaskView(TaskSuccessUrlMixin, generic.FormView):
    """Viewflow has already checked the user may execute the task, started it and, on POST,
    holds the process lock inside a transaction."""

    kind: str = "staff"
    form_class = ReviewForm
    template_name = "workflows/review_task.html"

    @property
    def activation(self) -> Any:
        """The task's activation, set on the request by Viewflow."""
        return getattr(self.request, "activation")  # noqa: B009

    @property
    def reviewer(self) -> User:
        return cast(User, self.request.user)  # the task view is for logged-in reviewers only

    @property
    def booking(self) -> Booking:
        return Booking.objects.select_related("room", "donor__donor_profile").get(pk=self.activation.process.booking_id)

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["room_choices"] = room_move_choices(self.booking) if self.kind == "room" else None
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        booking = self.booking
        user = self.request.user
        context.update(
            booking=booking,
            kind=self.kind,
            donor_code=booking.donor.donor_code,
            show_identity=policy.can_see_donor_identity(user),
            donor_status_label=donor_status_label(booking),
            history=donor_history(booking) if policy.can_see_donor_identity(user) else [],
        )
        return context

    def form_valid(self, form):
        from workflows import reviews  # reviews imports the flow, which imports this module

        try:
            reviews.record_review_decision(
                self.activation,
                kind=self.kind,
                decision=form.cleaned_data["decision"],
                comment=form.cleaned_data.get("comment") or "",
                reason=form.cleaned_data.get("reason") or "",
                room_id=form.cleaned_data.get("room"),
                actor=self.reviewer,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        self.activation.execute()
        messages.success(self.request, "Review recorded.", fail_silently=True)
        return HttpResponseRedirect(self.get_success_url())
