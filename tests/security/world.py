"""One small, realistic world for the security and fuzz tests: two rooms, a booking per client
in different states (with its workflow tasks and notifications), questions, payment orders.

Every object that belongs to one person is reachable through `World`, so that tests can try
it as somebody else. Nothing here talks to the network: the rooms' relay is 127.0.0.1:1
(nothing listens there), and tests that scan a door swap in a FakeLock or the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from clinic.accounts.models import DonorProfile
from clinic.bookings.models import Booking
from clinic.notifications.models import Notification
from clinic.outreach import services as outreach
from clinic.outreach.models import Consultation
from clinic.payments import services as payments
from clinic.payments.models import PaymentOrder
from clinic.rooms.models import Closure, RelayModule, Room
from tests import factories as f
from workflows import bookings, reviews
from workflows.flows import BookingFlow

# What identifies each client; none of it may reach anyone but the client and staff.
ID_NUMBERS = {
    "alice": "110105194912310021",
    "bob": "110105195001010013",
    "carl": "11010519510202003X",
    "dora": "110105195203030048",
}
PASSWORD = f.PASSWORD
PERSONAS = ("alice", "bob", "carl", "sam", "rita", "adam", "anon")
CLIENTS = ("alice", "bob", "carl")


@dataclass
class World:
    people: object
    rooms: list[Room] = field(default_factory=list)
    bookings: dict[str, Booking] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)
    notifications: dict[str, list[int]] = field(default_factory=dict)
    consultations: dict[str, int] = field(default_factory=dict)
    payments: dict[str, int] = field(default_factory=dict)
    openings: list[int] = field(default_factory=list)
    closures: list[int] = field(default_factory=list)

    def user(self, name: str):
        return None if name == "anon" else getattr(self.people, name)

    def secrets_of(self, name: str) -> dict[str, str]:
        """The identifying strings of a client: real name, phone, ID number, donor code."""
        user = self.user(name)
        profile = DonorProfile.objects.get(user=user)
        return {
            "name": profile.real_name,
            "phone": user.phone,
            "id_number": profile.id_number,
            "donor_code": profile.donor_code,
        }

    def identity_of(self, name: str) -> dict[str, str]:
        """Name, phone and ID number only (room managers may see donor codes)."""
        return {k: v for k, v in self.secrets_of(name).items() if k != "donor_code"}

    def current_slot_of_room_a(self):
        """The start of Room A's slot running now (the 23:50 one in the day's last minutes)."""
        from django.utils import timezone

        now = timezone.localtime()
        start = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
        return min(start, start.replace(hour=23, minute=50))

    def ids(self) -> dict[str, object]:
        """Placeholders for the access matrix's paths."""
        return {
            "room": self.rooms[0].pk,
            "room_b": self.rooms[1].pk,
            "opening": self.openings[0],
            "alice_booking": self.bookings["alice"].pk,
            "bob_booking": self.bookings["bob"].pk,
            "carl_booking": self.bookings["carl"].pk,
            "staff_task": self.tasks["alice_staff"],
            "room_task": self.tasks["carl_room"],
            "carl_staff_task": self.tasks["carl_staff"],
            "alice_notification": self.notifications["alice"][0],
            "bob_notification": self.notifications["bob"][0],
            "sam_notification": self.notifications["sam"][0],
            "rita_notification": self.notifications["rita"][0],
            "alice_question": self.consultations["alice"],
            "bob_question": self.consultations["bob"],
            "visitor_question": self.consultations["visitor"],
            "alice_payment": self.payments["alice"],
            "carl_payment": self.payments["carl"],
            "door_token": self.rooms[0].door_token,
            "alice_payment_ref": PaymentOrder.objects.get(pk=self.payments["alice"]).reference,
            "visitor_question_token": Consultation.objects.get(pk=self.consultations["visitor"]).token,
        }


def open_task(booking: Booking, name: str) -> int:
    return Task.objects.get(
        process__bookingprocess__booking=booking,
        flow_task=getattr(BookingFlow, name),
        status=STATUS.NEW,
    ).pk


def open_task_page(task_id: int) -> str:
    """The task's page in the Viewflow inbox, e.g. /workflow/booking/staff_review/<process>/<task>/."""
    from django.urls import reverse

    task = Task.objects.get(pk=task_id)
    return reverse(f"booking:{task.flow_task.name}:index", args=[task.process_id, task.pk])


def build(people) -> World:
    world = World(people=people)
    # dora: a donor with nothing booked yet (staff may book on her behalf).
    people.dora = f.client_user("dora", role="donor", real_name="Dora Sun", phone="13800000004")
    for name, number in ID_NUMBERS.items():
        DonorProfile.objects.filter(user=getattr(people, name)).update(id_number=number)
    relay = RelayModule.objects.create(host="127.0.0.1", port=1, unit=1)
    world.rooms = [f.room("Room A", coil=0, relay=relay, pulse_ms=500), f.room("Room B", coil=1, relay=relay)]
    # Room A takes 5-minute slots all day (a "current slot" exists at any time but 23:55),
    # Room B half-hour slots in office hours.
    world.openings.append(f.weekly_opening(world.rooms[0], start="00:00", end="23:55", slot_minutes=5).pk)
    world.openings.append(f.weekly_opening(world.rooms[1], start="08:00", end="20:00", slot_minutes=30).pk)
    world.closures.append(
        Closure.objects.create(
            room=None,
            start_date=f.tomorrow() + timedelta(days=40),
            end_date=f.tomorrow() + timedelta(days=41),
            reason="holiday",
        ).pk
    )
    day = f.tomorrow()
    # alice: pending; the room review is done, the staff review open.
    alice = bookings.request_booking(
        actor=people.alice, donor=people.alice, room_id=world.rooms[0].pk, start=f.at(day, "09:00")
    )
    reviews.complete_review(task_id=open_task(alice, "room_review"), user=people.rita, decision="approved")
    # bob: approved by both reviewers.
    bob = bookings.request_booking(
        actor=people.bob, donor=people.bob, room_id=world.rooms[1].pk, start=f.at(day, "10:00")
    )
    reviews.complete_review(task_id=open_task(bob, "staff_review"), user=people.sam, decision="approved")
    reviews.complete_review(task_id=open_task(bob, "room_review"), user=people.rita, decision="approved")
    # carl: pending and awaiting payment, both reviews open.
    carl = bookings.request_booking(
        actor=people.carl, donor=people.carl, room_id=world.rooms[0].pk, start=f.at(day, "11:00")
    )
    world.bookings = {
        name: Booking.objects.get(pk=b.pk) for name, b in (("alice", alice), ("bob", bob), ("carl", carl))
    }
    world.tasks = {
        "alice_staff": open_task(alice, "staff_review"),
        "carl_staff": open_task(carl, "staff_review"),
        "carl_room": open_task(carl, "room_review"),
    }
    for name in ("alice", "bob", "sam", "rita"):
        world.notifications[name] = list(
            Notification.objects.filter(recipient=getattr(people, name)).order_by("pk").values_list("pk", flat=True)
        )
        assert world.notifications[name], f"{name} has no notification"
    world.consultations = {
        "alice": outreach.ask(asker=people.alice, question="alice asks about the schedule").pk,
        "bob": outreach.ask(asker=people.bob, question="bob asks about parking", contact="13800000002").pk,
        "visitor": outreach.ask(asker=_anonymous(), question="a visitor asks", contact="13700000009").pk,
    }
    world.payments = {
        "alice": payments.open_order(payer=people.alice, item_code="storage_yearly")[0].pk,
        "carl": payments.open_order(payer=people.carl, item_code="self_preservation_collection", booking_id=carl.pk)[
            0
        ].pk,
    }
    assert PaymentOrder.objects.count() == 2 and Consultation.objects.count() == 3
    return world


def _anonymous():
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser()
