"""Collection rooms, their relay modules, opening hours and closures."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

DOOR_TOKEN_BYTES = 24  # 32 URL-safe characters: unguessable, never "lobby"


def new_door_token() -> str:
    return secrets.token_urlsafe(DOOR_TOKEN_BYTES)


class RelayModule(models.Model):
    """One Modbus relay board (host, port, unit id). A lock on the board is held while a command is
    sent to it (clinic.locking.board_lock, per host and port), so that commands from any process or
    host never interleave. Beat probes it (workflows.boards): `offline_since` is set while it does
    not answer."""

    class Mode(models.TextChoices):
        FLASH = "flash", _("hardware-timed pulse")
        COIL = "coil", _("plain coil on/off")

    class Framing(models.TextChoices):
        TCP = "tcp", _("Modbus TCP")
        RTU_OVER_TCP = "rtu_over_tcp", _("Modbus RTU over TCP")

    host = models.CharField(max_length=255, verbose_name=_("host"))
    port = models.PositiveIntegerField(default=502, verbose_name=_("port"))
    unit = models.PositiveSmallIntegerField(default=1, verbose_name=_("unit"))
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.FLASH, verbose_name=_("mode"))
    framing = models.CharField(max_length=16, choices=Framing.choices, default=Framing.TCP, verbose_name=_("framing"))
    # The health watch: when the board stopped answering (null: answering, or never probed), the
    # last probe and what went wrong in it.
    offline_since = models.DateTimeField(null=True, blank=True, verbose_name=_("offline since"))
    last_probe_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last probe at"))
    last_error = models.CharField(max_length=200, blank=True, default="", verbose_name=_("last error"))

    class Meta:
        verbose_name = _("relay board")
        verbose_name_plural = _("relay boards")
        constraints = [models.UniqueConstraint(fields=["host", "port", "unit"], name="relay_module_address_unique")]

    def __str__(self) -> str:
        return f"{self.host}:{self.port}/{self.unit}"


class Room(models.Model):
    class QrMode(models.TextChoices):
        UNLOCK = "unlock", _("door only")
        SHARED = "shared", _("door and booking")

    name = models.CharField(_("name"), max_length=100, unique=True)
    active = models.BooleanField(_("active"), default=True)
    relay = models.ForeignKey(
        RelayModule, null=True, blank=True, on_delete=models.PROTECT, related_name="rooms", verbose_name=_("relay")
    )
    coil = models.PositiveSmallIntegerField(default=0, verbose_name=_("coil"))
    pulse_ms = models.PositiveIntegerField(default=3000, verbose_name=_("pulse (ms)"))
    door_sensor_input = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("door sensor input"))
    door_qr_mode = models.CharField(
        max_length=8, choices=QrMode.choices, default=QrMode.UNLOCK, verbose_name=_("door QR mode")
    )
    door_token = models.CharField(
        max_length=64, unique=True, default=new_door_token, editable=False, verbose_name=_("door token")
    )
    door_token_rotated = models.DateTimeField(null=True, blank=True, verbose_name=_("door token rotated"))
    # Door-sensor watch: when the door was first seen open, and when that was alerted.
    door_open_since = models.DateTimeField(null=True, blank=True, verbose_name=_("door open since"))
    door_alerted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("door alerted at"))
    created = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    class Meta:
        verbose_name = _("room")
        verbose_name_plural = _("rooms")
        ordering = ["name"]
        permissions = [
            ("manage_rooms", "Can manage rooms, opening hours, closures and door QR codes"),
            ("operate_doors", "Can open a door manually"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["relay", "coil"], name="room_relay_channel_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Opening(models.Model):
    """A window in which a room takes bookings: on one date, or weekly on some weekdays."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="openings", verbose_name=_("room"))
    date = models.DateField(null=True, blank=True, verbose_name=_("date"))
    weekdays = models.JSONField(default=list, blank=True, verbose_name=_("weekdays"))  # 0 = Monday
    start_time = models.TimeField(verbose_name=_("start time"))
    end_time = models.TimeField(verbose_name=_("end time"))
    slot_minutes = models.PositiveSmallIntegerField(verbose_name=_("slot minutes"))
    created = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        ordering = ["room_id", "date", "start_time"]

    def applies_on(self, day) -> bool:
        if self.date is not None:
            return self.date == day
        return day.weekday() in self.weekdays


class Closure(models.Model):
    """A room out of service, or the whole site closed (room is null), for a date range."""

    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.CASCADE, related_name="closures", verbose_name=_("room")
    )
    start_date = models.DateField(verbose_name=_("start date"))
    end_date = models.DateField(verbose_name=_("end date"))
    reason = models.CharField(max_length=200, blank=True, verbose_name=_("reason"))
    created = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    class Meta:
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        ordering = ["start_date"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")), name="closure_dates_ordered"
            )
        ]
