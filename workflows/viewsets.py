"""The task inbox pages (inbox, queue, archive, task forms) of Viewflow, for BookingFlow."""

from django.utils.translation import gettext_lazy as _
from viewflow.urls import Site
from viewflow.workflow.flow import FlowAppViewset
from viewflow.workflow.flow.views import DashboardProcessListView

from workflows.flows import BookingFlow


class ProcessListView(DashboardProcessListView):
    # Its queryset counts active tasks (GROUP BY), where the model's default order does not
    # apply: without an order of its own the list's pages could repeat or skip processes.
    ordering = ("-created", "-pk")


class BookingFlowViewset(FlowAppViewset):
    process_list_view_class = ProcessListView


site = Site(title=_("Collection bookings"), viewsets=[BookingFlowViewset(BookingFlow, icon="event")])
