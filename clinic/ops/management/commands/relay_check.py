"""Try a relay board before it goes on a door: does it answer, how fast, and (if asked) does a
relay pulse and a door-sensor input read. Exit status 0 when the board answered, 1 otherwise.

    manage.py relay_check --host 192.168.1.200 --port 4196 --unit 1 --framing rtu_over_tcp
    manage.py relay_check --host 192.168.1.200 --port 4196 --framing rtu_over_tcp --coil 3 --unlock
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from clinic.locking import BoardBusy, board_lock
from hardware.relays import FRAMINGS, MODES, LockError, ModbusRelayLock, RelayTarget

HINT = (
    "No answer. Check the board's IP address and port, its framing (a Waveshare board in its factory "
    "setting speaks rtu_over_tcp on port 4196; Modbus TCP boards use tcp, usually on port 502) and its "
    "unit id (a board stays silent for any other id)."
)


class Command(BaseCommand):
    help = "Try a Modbus relay board: read a coil (and a door input), optionally pulse a relay."

    def add_arguments(self, parser):
        parser.add_argument("--host", required=True, help="the board's IP address")
        parser.add_argument("--port", type=int, default=502)
        parser.add_argument("--unit", type=int, default=1, help="the board's unit (device) id")
        parser.add_argument("--framing", choices=tuple(FRAMINGS), default="tcp")
        parser.add_argument("--mode", choices=MODES, default="flash", help="how --unlock pulses the relay")
        parser.add_argument("--coil", type=int, default=0, help="the relay channel, from 0")
        parser.add_argument("--pulse-ms", type=int, default=1000)
        parser.add_argument("--unlock", action="store_true", help="pulse the relay (the lock releases)")
        parser.add_argument("--door-input", type=int, default=None, help="also read this door-sensor input")
        parser.add_argument("--deadline-ms", type=int, default=2000, help="per command, as at a door")

    def handle(self, *args: Any, **o: Any) -> None:
        try:
            target = RelayTarget(
                o["host"],
                o["port"],
                unit=o["unit"],
                coil=o["coil"],
                pulse_ms=o["pulse_ms"],
                mode=o["mode"],
                framing=o["framing"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        adapter = ModbusRelayLock()
        deadline_s = o["deadline_ms"] / 1000
        where = f"{target.host}:{target.port} ({target.framing}, unit {target.unit})"
        try:
            started = time.monotonic()
            state = self._guarded(target, deadline_s, lambda: adapter.read_state(target, deadline_s=deadline_s))
            took = (time.monotonic() - started) * 1000
            self.stdout.write(f"{where} answered in {took:.0f} ms: relay {target.coil} is {'ON' if state else 'OFF'}.")
            if o["door_input"] is not None:
                is_open = self._guarded(
                    target, deadline_s, lambda: adapter.door_open(target, o["door_input"], deadline_s=deadline_s)
                )
                self.stdout.write(f"door input {o['door_input']}: {'active (door open)' if is_open else 'inactive'}.")
            if o["unlock"]:
                self._guarded(target, deadline_s, lambda: adapter.unlock(target, deadline_s=deadline_s))
                self.stdout.write(
                    self.style.SUCCESS(f"relay {target.coil} pulsed for {target.pulse_ms} ms ({target.mode} mode).")
                )
                if target.mode == "coil":
                    time.sleep(target.pulse_ms / 1000 + 0.5)  # the adapter switches it off from this process
        except BoardBusy as exc:
            raise CommandError(f"{where}: another command to this board is running; try again.") from exc
        except (LockError, ValueError) as exc:
            other = self._other_framing_answers(target, deadline_s)
            hint = f" It answers as {other}: choose framing {other}." if other else f" {HINT}"
            raise CommandError(f"{exc}.{hint}") from exc

    @staticmethod
    def _guarded(target: RelayTarget, deadline_s: float, call: Any) -> Any:
        """Under the board lock, as the door's own commands: never interleaved with a scan."""
        with board_lock(target.host, target.port, time.monotonic() + deadline_s):
            return call()

    @staticmethod
    def _other_framing_answers(target: RelayTarget, deadline_s: float) -> str | None:
        other = next(name for name in FRAMINGS if name != target.framing)
        try:
            ModbusRelayLock().read_state(replace(target, framing=other), deadline_s=deadline_s)
        except (LockError, ValueError):
            return None
        return other
