"""ModbusRelayLock against the in-process simulator and misbehaving peers, RelayTarget, and the
test double the other tests use (tests.doubles.FakeLock)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from hardware.protocol import FLASH_ON_BASE, flash_units
from hardware.relays import (
    LockAdapter,
    LockOutcomeUnknown,
    LockUnavailable,
    ModbusRelayLock,
    RelayTarget,
)
from hardware.simulator import RelaySimulator
from tests.doubles import FakeCall, FakeLock

OFF = [False] * 8


def target(port: int, **kwargs: object) -> RelayTarget:
    return RelayTarget("127.0.0.1", port, **kwargs)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- happy paths -------------------------------------------------------------


def test_flash_unlock_switches_only_that_relay_and_board_drops_it(sim: RelaySimulator) -> None:
    lock = ModbusRelayLock()
    t0 = time.monotonic()
    lock.unlock(target(sim.port, coil=3, pulse_ms=300))

    assert sim.coils() == [False, False, False, True, False, False, False, False]
    assert sim.wait_coil(3, False, timeout=2)
    assert sim.coils() == OFF
    on, off = sim.history
    assert (on.relay, on.on, on.cause, on.pulse_ms) == (3, True, "flash", 300)
    assert (off.relay, off.on, off.cause) == (3, False, "pulse_end")
    assert on.monotonic - t0 < 0.1
    assert 0.28 < off.monotonic - on.monotonic < 0.6


def test_flash_pulse_rounds_up_to_board_units(sim: RelaySimulator) -> None:
    ModbusRelayLock().unlock(target(sim.port, coil=0, pulse_ms=250))
    assert sim.history[0].pulse_ms == 300
    assert flash_units(3000) == 30
    assert flash_units(1) == 1


def test_coil_mode_switches_on_then_off_after_pulse(sim: RelaySimulator) -> None:
    ModbusRelayLock().unlock(target(sim.port, coil=5, pulse_ms=300, mode="coil"))

    assert sim.coils() == [False] * 5 + [True] + [False] * 2
    assert sim.wait_coil(5, False, timeout=2)
    on, off = sim.history
    assert (on.on, on.cause, off.on, off.cause) == (True, "coil", False, "coil")
    assert 0.28 < off.monotonic - on.monotonic < 0.8


def test_coil_mode_repeat_unlock_extends_the_pulse(sim: RelaySimulator) -> None:
    lock = ModbusRelayLock()
    t = target(sim.port, coil=1, pulse_ms=400, mode="coil")
    lock.unlock(t)
    time.sleep(0.25)
    lock.unlock(t)
    assert sim.wait_coil(1, False, timeout=2)
    offs = [e for e in sim.history if not e.on]
    assert len(offs) == 1  # the first OFF timer was replaced, not fired early
    assert offs[0].monotonic - sim.history[0].monotonic > 0.6


def test_read_state_and_door_open_return_board_values(sim: RelaySimulator) -> None:
    lock = ModbusRelayLock()
    t = target(sim.port, coil=2, pulse_ms=400)
    assert lock.read_state(t) is False
    lock.unlock(t)
    assert lock.read_state(t) is True
    assert lock.read_state(target(sim.port, coil=3)) is False

    sim.set_door(4, True)
    assert lock.door_open(t, 4) is True
    assert lock.door_open(t, 5) is False
    sim.set_door(4, False)
    assert lock.door_open(t, 4) is False


@pytest.mark.parametrize("framing", ["tcp", "rtu_over_tcp"])
@pytest.mark.parametrize("mode", ["flash", "coil"])
def test_unlock_in_each_framing_and_mode_on_the_board_s_unit_id(mode: str, framing: str) -> None:
    with RelaySimulator(framing=framing, unit=7) as board:
        ModbusRelayLock().unlock(target(board.port, unit=7, coil=6, pulse_ms=300, mode=mode, framing=framing))
        assert board.coils() == [False] * 6 + [True, False]
        assert board.wait_coil(6, False, timeout=2)
        assert [(e.relay, e.on) for e in board.history] == [(6, True), (6, False)]


@pytest.mark.parametrize("framing", ["tcp", "rtu_over_tcp"])
def test_a_wrong_unit_id_is_unavailable_within_the_deadline_and_nothing_is_written(framing: str) -> None:
    with RelaySimulator(framing=framing, unit=1) as board:
        started = time.monotonic()
        with pytest.raises(LockUnavailable) as info:
            ModbusRelayLock().unlock(target(board.port, unit=2, coil=1, framing=framing), deadline_s=1.5)
        assert time.monotonic() - started < 2.0
        assert not isinstance(info.value, LockOutcomeUnknown)  # the probe got nothing: nothing was sent
        assert "nothing written" in str(info.value)
        assert board.history == [] and not any(board.coils())


@pytest.mark.parametrize(("board_framing", "adapter_framing"), [("rtu_over_tcp", "tcp"), ("tcp", "rtu_over_tcp")])
def test_the_wrong_framing_is_unavailable_and_nothing_is_written(board_framing: str, adapter_framing: str) -> None:
    with RelaySimulator(framing=board_framing) as board:
        with pytest.raises(LockUnavailable) as info:
            ModbusRelayLock().unlock(target(board.port, coil=1, framing=adapter_framing), deadline_s=1.0)
        assert not isinstance(info.value, LockOutcomeUnknown)
        assert board.history == [] and not any(board.coils())


def test_a_framing_the_adapter_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError, match="framing"):
        RelayTarget("127.0.0.1", 502, framing="ascii")


# -- failures ----------------------------------------------------------------


def test_closed_port_is_unavailable_at_once() -> None:
    lock = ModbusRelayLock()
    t0 = time.monotonic()
    with pytest.raises(LockUnavailable) as info:
        lock.unlock(target(free_port()))
    assert not isinstance(info.value, LockOutcomeUnknown)
    assert time.monotonic() - t0 < 0.5


def test_board_that_never_answers_fails_within_deadline(silent_server: int) -> None:
    lock = ModbusRelayLock()
    t0 = time.monotonic()
    with pytest.raises(LockUnavailable) as info:
        lock.unlock(target(silent_server))
    # Only the probe read was sent: the command was certainly not executed.
    assert not isinstance(info.value, LockOutcomeUnknown)
    elapsed = time.monotonic() - t0
    assert 1.9 < elapsed < 2.2

    t0 = time.monotonic()
    with pytest.raises(LockUnavailable) as info:
        lock.read_state(target(silent_server), deadline_s=0.3)
    assert not isinstance(info.value, LockOutcomeUnknown)  # a read has no effect to be unsure about
    assert time.monotonic() - t0 < 0.5


def test_frozen_board_fails_within_deadline_and_relay_is_untouched(sim: RelaySimulator) -> None:
    sim.set_frozen(True)
    t0 = time.monotonic()
    with pytest.raises(LockUnavailable) as info:
        ModbusRelayLock().unlock(target(sim.port, coil=4), deadline_s=0.5)
    assert not isinstance(info.value, LockOutcomeUnknown)  # nothing but the probe was sent
    assert time.monotonic() - t0 < 0.7
    sim.set_frozen(False)
    assert sim.coils() == OFF
    assert sim.history == []


def test_board_exception_means_not_executed(sim: RelaySimulator) -> None:
    # coil 20 does not exist on an 8-relay board: it answers ILLEGAL ADDRESS
    with pytest.raises(LockUnavailable) as info:
        ModbusRelayLock().unlock(target(sim.port, coil=20))
    assert not isinstance(info.value, LockOutcomeUnknown)
    assert "exception 2" in str(info.value)
    assert sim.coils() == OFF


def test_board_acknowledging_without_switching_is_not_an_unlock(sim: RelaySimulator) -> None:
    sim_write = sim._write_single

    def ack_only(pdu):  # echoes the command like a healthy board, but the relay stays off
        response = sim_write(pdu)
        sim._set(1, False, "cmd=coil")
        return response

    sim._write_single = ack_only  # type: ignore[method-assign]
    with pytest.raises(LockUnavailable) as info:
        ModbusRelayLock().unlock(target(sim.port, coil=1, pulse_ms=2000))
    assert not isinstance(info.value, LockOutcomeUnknown)
    assert "relay is OFF" in str(info.value)


@pytest.fixture
def drop_first_reply(sim: RelaySimulator) -> Iterator[int]:
    """Proxy to ``sim`` that forwards the first write request (FC05), then hangs up before its reply."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.05)
    stop = threading.Event()

    dropped = threading.Event()

    def pipe(client: socket.socket) -> None:
        with client, socket.create_connection(("127.0.0.1", sim.port)) as board:
            while request := client.recv(1024):
                board.sendall(request)
                reply = board.recv(1024)
                if request[7] == 5 and not dropped.is_set():  # MBAP header, then the function code
                    dropped.set()
                    return
                client.sendall(reply)

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=pipe, args=(client,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


def test_lost_reply_is_rescued_by_read_back(sim: RelaySimulator, drop_first_reply: int) -> None:
    ModbusRelayLock().unlock(target(drop_first_reply, coil=2, pulse_ms=1000))
    assert sim.coil(2)


def test_lost_reply_without_effect_is_outcome_unknown(sim: RelaySimulator, drop_first_reply: int) -> None:
    sim_write = sim._write_single

    def swallow(pdu):
        response = sim_write(pdu)
        sim._set(pdu.address - FLASH_ON_BASE, False, "cmd=coil")
        return response

    sim._write_single = swallow  # type: ignore[method-assign]
    with pytest.raises(LockOutcomeUnknown):
        ModbusRelayLock().unlock(target(drop_first_reply, coil=2, pulse_ms=1000))


# -- RelayTarget and FakeLock ------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mode": "pulse"},
        {"pulse_ms": 0},
        {"pulse_ms": 0x8000 * 100},
        {"coil": -1},
        {"coil": 0xFF},
        {"unit": 0},
        {"port": 0},
    ],
)
def test_relay_target_rejects_bad_config(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        target(**{"port": 502, **kwargs})


def test_both_adapters_satisfy_the_protocol() -> None:
    assert isinstance(ModbusRelayLock(), LockAdapter)
    assert isinstance(FakeLock(), LockAdapter)


def test_fake_lock_records_calls_and_keeps_state() -> None:
    fake = FakeLock()
    t = target(502, coil=2)
    other = target(502, coil=3)

    assert fake.read_state(t) is False
    fake.unlock(t, deadline_s=1.5)
    assert fake.read_state(t) is True
    assert fake.read_state(other) is False
    fake.set_relay(t, False)
    assert fake.read_state(t) is False

    assert fake.door_open(t, 4) is False
    fake.set_door(t, 4, True)
    assert fake.door_open(t, 4) is True

    assert fake.unlocked == [t]
    assert [c.method for c in fake.calls] == [
        "read_state",
        "unlock",
        "read_state",
        "read_state",
        "read_state",
        "door_open",
        "door_open",
    ]
    assert fake.calls[1] == FakeCall("unlock", t, None, 1.5)
    assert fake.calls[-1] == FakeCall("door_open", t, 4, 2.0)


def test_fake_lock_fails_on_demand() -> None:
    fake = FakeLock()
    t = target(502)

    fake.fail_with(LockOutcomeUnknown, times=2)
    for _ in range(2):
        with pytest.raises(LockOutcomeUnknown):
            fake.unlock(t)
    fake.unlock(t)
    assert fake.unlocked == [t]
    assert len(fake.calls) == 3

    fake.fail_with(LockUnavailable("board offline"))
    for _ in range(3):
        with pytest.raises(LockUnavailable, match="board offline"):
            fake.door_open(t, 0)
    fake.fail_with(None)
    assert fake.read_state(t) is True


def test_coil_mode_off_is_sent_inside_the_command_guard(sim: RelaySimulator) -> None:
    """The OFF the adapter sends on its own goes through the caller's guard (its board lock):
    held elsewhere, the OFF waits for it."""
    import contextlib
    import threading

    held = threading.Event()
    release = threading.Event()
    entered: list[tuple[int, float]] = []

    @contextlib.contextmanager
    def guard(t, deadline):
        held.wait(2)
        release.wait(2)  # another command holds the board
        entered.append((t.coil, deadline - time.monotonic()))
        yield

    lock = ModbusRelayLock(command_guard=guard)
    lock.unlock(target(sim.port, coil=3, pulse_ms=200, mode="coil"))
    held.set()
    time.sleep(0.5)
    assert sim.coil(3) is True  # the OFF is due, but waits for the guard
    release.set()
    assert sim.wait_coil(3, False, timeout=2)
    assert [coil for coil, _ in entered] == [3]
    assert 0 < entered[0][1] <= 2.0
