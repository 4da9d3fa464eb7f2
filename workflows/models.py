"""The booking process record: Viewflow's Process, linked to its booking."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from viewflow.workflow.models import Process

from clinic.bookings.models import Booking


class BookingProcess(Process):
    # A foreign key, not one-to-one: a rescheduled booking ends its process and starts a new
    # one, so the history of reviews stays readable.
    booking: models.ForeignKey[Booking, Booking] = models.ForeignKey(
        "bookings.Booking", on_delete=models.PROTECT, related_name="processes"
    )

    class Meta:
        verbose_name = _("booking process")
