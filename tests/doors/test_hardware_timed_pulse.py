"""The door relay across real processes: a killed web process cannot keep a door open (the board
times the pulse), and two processes driving one board never mix their commands (row lock).

Real uvicorn, real relay simulator process, real PostgreSQL: data is committed so that the child
processes see it (transactional tests)."""

from __future__ import annotations

import datetime as dt
import itertools
import subprocess

import pytest
from django.conf import settings

from clinic.accounts.models import AccessToken as Token
from clinic.audit.models import AuditEvent
from clinic.rooms.models import RelayModule
from hardware.protocol import FLASH_ON_BASE
from hardware.simulator import LOG_LINE_RE
from tests import factories as f
from tests.hardware.helpers import read_log, run_python, wait_for_line

from .helpers import approved_booking, current_slot, django_env, http, open_all_day

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("held_deliveries"),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="child processes share the test database, and the board lock is a PostgreSQL advisory lock",
    ),
]

PULSE_MS = 1500


def parsed(lines: list[str]) -> list[dict]:
    """Every log line parsed; any line that is not one whole simulator line fails the test."""
    matches = [LOG_LINE_RE.fullmatch(line) for line in lines]
    bad = [line for line, match in zip(lines, matches, strict=True) if match is None]
    assert not bad, f"malformed log lines: {bad[:5]}"
    return [m.groupdict() | {"at": dt.datetime.fromisoformat(m["ts"])} for m in matches]  # type: ignore[union-attr]


def test_a_killed_web_process_cannot_keep_the_door_open(people, sim_process, web_process):
    relay = RelayModule.objects.create(host="127.0.0.1", port=sim_process.port, unit=1)
    room = f.room("Room K", coil=3, relay=relay, pulse_ms=PULSE_MS)
    open_all_day(room)
    booking = approved_booking(people, room, current_slot())
    token = Token.objects.create(user=people.alice).key
    web = web_process()

    status, body = http("POST", web.url + "/api/scan/", {"door": room.door_token}, token=token)
    web.kill()
    killed_at = dt.datetime.now()

    assert status == 200, body
    assert body["action"] == "unlocked" and body["booking"]["status"] == "in_progress"
    assert web.proc.returncode < 0 and not web.group_alive(), "a web process is still alive"
    # The door is open and nobody is left to close it but the board itself.
    relay3 = [e for e in parsed(sim_process.lines()) if e["relay"] == "3"]
    assert [(e["state"], e["why"], e["pulse_ms"]) for e in relay3] == [("ON", "flash", str(PULSE_MS))]

    wait_for_line(sim_process.log_path, "relay=3 OFF cause=pulse_end", timeout=PULSE_MS / 1000 + 2)
    events = parsed(sim_process.lines())
    on, off = [e for e in events if e["relay"] == "3"]
    assert (off["state"], off["why"]) == ("OFF", "pulse_end")
    assert on["at"] < killed_at < off["at"]
    assert 1.4 < (off["at"] - on["at"]).total_seconds() < 1.9
    # Exactly one relay command reached the board: one flash write, the rest reads of relay 3
    # (the adapter's read-back, and its probe before writing), no other relay moved.
    commands = [(e["fc"], e["addr"], e["value"]) for e in events if e["fc"]]
    assert [c for c in commands if c[0] != "1"] == [("5", f"{FLASH_ON_BASE + 3:04x}", f"{PULSE_MS // 100:04x}")]
    assert {c for c in commands if c[0] == "1"} == {("1", "0003", None)}
    assert commands[-1][0] == "1", "the write was not read back"
    assert {e["relay"] for e in events if e["relay"]} == {"3"}

    booking.refresh_from_db()
    assert booking.status == "in_progress" and booking.checked_in_at is not None
    assert AuditEvent.objects.filter(action="door.scan", actor=people.alice, outcome="success").count() == 1


UNLOCK_LOOP = """
import sys
import django
django.setup()
from clinic.rooms.models import Room
from workflows import doors
room = Room.objects.select_related("relay").get(pk=int(sys.argv[1]))
count = int(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()
for _ in range(count):
    doors.unlock(room)
print("done", flush=True)
"""

PER_PROCESS = 120


def test_two_processes_driving_one_board_never_mix_their_commands(sim_process):
    relay = RelayModule.objects.create(host="127.0.0.1", port=sim_process.port, unit=1)
    rooms = [f.room("Room 1", coil=1, relay=relay, pulse_ms=100), f.room("Room 6", coil=6, relay=relay, pulse_ms=100)]
    clients = [
        run_python(
            UNLOCK_LOOP,
            room.pk,
            PER_PROCESS,
            env=django_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for room in rooms
    ]
    try:
        for client in clients:
            assert client.stdout.readline().strip() == "ready", client.stderr.read()
        for client in clients:  # both start at once
            client.stdin.write("go\n")
            client.stdin.flush()
        for client in clients:
            out, err = client.communicate(timeout=120)
            assert client.returncode == 0 and out.strip() == "done", err
    finally:
        for client in clients:
            if client.poll() is None:
                client.kill()
                client.wait()

    lines = read_log(sim_process.log_path)
    assert sim_process.log_path.read_bytes().endswith(b"\n")
    events = parsed(lines)
    commands = [e for e in events if e["fc"]]
    # Each unlock is one connection (transaction ids from 1): its reads (read-back, and a probe if
    # the adapter sends one) and exactly one flash write. Serialised by the board lock, the commands
    # of one unlock follow each other with nothing from the other process in between.
    unlocks: list[list[dict]] = []
    for command in commands:
        if command["tid"] == "1":
            unlocks.append([])
        assert unlocks, command
        unlocks[-1].append(command)
    assert len(unlocks) == 2 * PER_PROCESS
    for unlock in unlocks:
        writes = [c for c in unlock if c["fc"] == "5"]
        assert len(writes) == 1 and writes[0]["value"] == "0001", unlock
        coil = int(writes[0]["addr"], 16) - FLASH_ON_BASE
        assert coil in (1, 6), unlock
        assert all(
            c["fc"] == "1" and int(c["addr"], 16) == coil and c["count"] == "1" for c in unlock if c is not writes[0]
        )
        assert [int(c["tid"]) for c in unlock] == list(range(1, len(unlock) + 1)), unlock
        assert unlock[-1]["fc"] == "1", f"no read-back after the write: {unlock}"
    assert {len(unlock) for unlock in unlocks} in ({2}, {3}), "every unlock sends the same commands"
    assert sum(e["why"] == "flash" and e["relay"] == "1" for e in events) == PER_PROCESS
    assert sum(e["why"] == "flash" and e["relay"] == "6" for e in events) == PER_PROCESS
    # The two processes really competed for the board (otherwise this proves nothing).
    order = [next(c["addr"] for c in unlock if c["fc"] == "5") for unlock in unlocks]
    switches = sum(a != b for a, b in itertools.pairwise(order))
    assert switches >= PER_PROCESS // 4, switches
