"""Demo data: a few rooms on the relay simulator, opening hours, one login per role.

Idempotent: running it again changes nothing and prints the same logins.
"""

from __future__ import annotations

from datetime import time

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from clinic.accounts.models import DonorProfile, User
from clinic.outreach.models import FaqEntry, Promotion
from clinic.rooms.models import Opening, RelayModule, Room

LOGINS = [
    # username, password, role, superuser
    ("admin", "admin-demo-2026", "system_admin", True),
    ("staff", "staff-demo-2026", "staff", False),
    ("roommgr", "roommgr-demo-2026", "room_manager", False),
    ("donor", "donor-demo-2026", "donor", False),
    ("selfpres", "selfpres-demo-2026", "self_preservation", False),
]

# Offset grids (08:00, 08:10, 08:20) so that, with ARRIVAL_GAP_MINUTES=10, donors booked in
# different rooms never arrive at the same minute.
ROOMS = [
    ("Room A", 0, time(8, 0), time(20, 0)),
    ("Room B", 1, time(8, 10), time(19, 40)),
    ("Room C", 2, time(8, 20), time(19, 50)),
]


FAQ = [
    ("需要提前多久预约？", "最早可提前 60 天预约；请在预约时段开始前到达。"),
    ("如何进入房间？", "到达后用已登录的手机扫描房门上的二维码，审核通过的预约在时段前 10 分钟起可开门。"),
    ("可以取消预约吗？", "审核前和审核通过后都可以在“我的预约”中取消。"),
]


class Command(BaseCommand):
    help = "Create demo rooms, opening hours and one login per role (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--relay-host", default="127.0.0.1")
        parser.add_argument("--relay-port", type=int, default=5020)

    @transaction.atomic
    def handle(self, *args, relay_host: str, relay_port: int, **options):
        for username, password, role, superuser in LOGINS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"is_staff": role not in ("donor", "self_preservation"), "phone": "13800138000"},
            )
            if created:
                user.set_password(password)
                user.is_superuser = superuser
                user.save()
            user.groups.add(Group.objects.get(name=role))
            if role in ("donor", "self_preservation"):
                DonorProfile.objects.get_or_create(
                    user=user,
                    defaults={
                        "real_name": f"Demo {role}",
                        "purpose": "self_preservation" if role == "self_preservation" else "donation",
                        # The demo donor has been screened: he books donations.
                        "donor_status": None if role == "self_preservation" else "qualified",
                    },
                )

        relay, _ = RelayModule.objects.get_or_create(host=relay_host, port=relay_port, unit=1)
        for name, coil, start, end in ROOMS:
            room, created = Room.objects.get_or_create(
                name=name, defaults={"relay": relay, "coil": coil, "pulse_ms": 3000, "door_sensor_input": coil}
            )
            if created:
                Opening.objects.create(
                    room=room, weekdays=[0, 1, 2, 3, 4, 5, 6], start_time=start, end_time=end, slot_minutes=30
                )

        for position, (question, answer) in enumerate(FAQ):
            FaqEntry.objects.get_or_create(question=question, defaults={"answer": answer, "position": position})
        Promotion.objects.get_or_create(
            title="欢迎预约",
            defaults={"body": "手机预约精确时段与独立房间，无需排队。", "audience": ["visitor", "donor"]},
        )

        self.stdout.write("Demo logins (username / password / role):")
        for username, password, role, superuser in LOGINS:
            suffix = " (superuser)" if superuser else ""
            self.stdout.write(f"  {username:<9} {password:<20} {role}{suffix}")
