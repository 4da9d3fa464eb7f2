"""The task inbox pages (inbox, queue, archive, task forms) of Viewflow, for BookingFlow."""

from django.utils.translation import gettext_lazy as _
from viewflow.urls import Site
from viewflow.workflow.flow import FlowAppViewset

from workflows.flows import BookingFlow

site = Site(title=_("Collection bookings"), viewsets=[FlowAppViewset(BookingFlow, icon="event")])
