"""Multi-process behaviour: simulator and clients in separate processes, killed and frozen on purpose."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
import subprocess
import time

import pytest

from hardware.relays import LockOutcomeUnknown, LockUnavailable, ModbusRelayLock, RelayTarget
from hardware.simulator import LOG_LINE_RE

from .helpers import freeze, run_python, wait_for_line

UNLOCK_THEN_HANG = """
import sys, time
from hardware.relays import ModbusRelayLock, RelayTarget
port, coil, pulse_ms, mode = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ModbusRelayLock().unlock(RelayTarget("127.0.0.1", port, coil=coil, pulse_ms=pulse_ms, mode=mode))
print("unlocked", flush=True)
time.sleep(60)
"""

UNLOCK_MANY = """
import sys, time
from hardware.relays import ModbusRelayLock, RelayTarget
port, coil, count, start_at = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
lock = ModbusRelayLock()
target = RelayTarget("127.0.0.1", port, coil=coil, pulse_ms=100)
time.sleep(max(0.0, start_at - time.time()))
for _ in range(count):
    lock.unlock(target)
"""


def parsed(lines: list[str]) -> list[dict]:
    matches = [LOG_LINE_RE.fullmatch(line) for line in lines]
    bad = [line for line, match in zip(lines, matches, strict=True) if match is None]
    assert not bad, f"malformed log lines: {bad[:5]}"
    return [m.groupdict() | {"at": dt.datetime.fromisoformat(m["ts"])} for m in matches]  # type: ignore[union-attr]


def relay_events(lines: list[str], relay: int) -> list[dict]:
    return [e for e in parsed(lines) if e["relay"] == str(relay)]


def unlock_and_get_killed(port: int, coil: int, pulse_ms: int, mode: str) -> None:
    client = run_python(UNLOCK_THEN_HANG, port, coil, pulse_ms, mode, stdout=subprocess.PIPE, text=True)
    try:
        assert client.stdout.readline().strip() == "unlocked"  # type: ignore[union-attr]
    finally:
        os.kill(client.pid, signal.SIGKILL)
        client.wait()
        client.stdout.close()  # type: ignore[union-attr]
    assert client.returncode == -signal.SIGKILL


def test_flash_pulse_ends_on_board_after_client_is_killed(sim_process) -> None:
    board = sim_process()
    unlock_and_get_killed(board.port, coil=2, pulse_ms=500, mode="flash")

    wait_for_line(board.log_path, "relay=2 OFF cause=pulse_end", timeout=2)
    on, off = relay_events(board.lines(), 2)
    assert (on["state"], on["why"], on["pulse_ms"]) == ("ON", "flash", "500")
    assert (off["state"], off["why"]) == ("OFF", "pulse_end")
    assert 0.45 < (off["at"] - on["at"]).total_seconds() < 0.9


def test_coil_mode_relay_stays_on_when_client_is_killed(sim_process) -> None:
    # Documents why flash is the default: the OFF lives in the client process.
    board = sim_process()
    unlock_and_get_killed(board.port, coil=4, pulse_ms=200, mode="coil")
    time.sleep(0.5)
    assert [e["state"] for e in relay_events(board.lines(), 4)] == ["ON"]
    assert ModbusRelayLock().read_state(RelayTarget("127.0.0.1", board.port, coil=4)) is True


def test_two_client_processes_never_interleave_log_lines(sim_process) -> None:
    board = sim_process()
    per_client = 150
    start_at = time.time() + 0.5
    clients = [
        run_python(UNLOCK_MANY, board.port, coil, per_client, start_at, stderr=subprocess.PIPE) for coil in (1, 6)
    ]
    for client in clients:
        _, err = client.communicate(timeout=30)
        assert client.returncode == 0, err.decode()

    events = parsed(board.lines())
    commands = [e for e in events if e["fc"]]
    # every unlock is a probe read, one flash write and one read-back
    assert len(commands) == 3 * per_client * 2
    assert {(e["fc"], e["addr"]) for e in commands} == {("5", "0201"), ("1", "0001"), ("5", "0206"), ("1", "0006")}
    flash_ons = [e for e in events if e["why"] == "flash"]
    assert len(flash_ons) == 2 * per_client
    # the two streams really ran at the same time: relay 1 and 6 commands alternate
    order = [e["addr"][-1] for e in commands]
    switches = sum(a != b for a, b in itertools.pairwise(order))
    assert switches > 10


def test_stopped_board_process_times_out_and_never_acts_late(sim_process) -> None:
    board = sim_process()
    freeze(board.proc.pid)
    try:
        t0 = time.monotonic()
        with pytest.raises(LockUnavailable) as info:
            ModbusRelayLock().unlock(RelayTarget("127.0.0.1", board.port, coil=1, pulse_ms=300), deadline_s=1.0)
        assert not isinstance(info.value, LockOutcomeUnknown)
        assert time.monotonic() - t0 < 1.2
        assert relay_events(board.lines(), 1) == []
    finally:
        os.kill(board.proc.pid, signal.SIGCONT)
    # The kernel had accepted the connection and buffered what was sent, and the resumed board
    # runs it: only the probe read was sent, so the relay never moves.
    wait_for_line(board.log_path, "cmd unit=1 fc=1 addr=0x0001", timeout=2)
    time.sleep(0.3)
    assert relay_events(board.lines(), 1) == []
    assert [e["fc"] for e in parsed(board.lines()) if e["fc"]] == ["1"]
