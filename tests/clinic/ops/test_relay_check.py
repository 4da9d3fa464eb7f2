"""manage.py relay_check: an installer tries a board before it goes on a door, against the
relay simulator over TCP (a Waveshare board's factory setting: RTU over TCP)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from hardware.simulator import RelaySimulator

pytestmark = pytest.mark.django_db


@pytest.fixture
def waveshare():
    with RelaySimulator(framing="rtu_over_tcp", unit=1, control_port=0) as board:
        yield board


def check(board, *args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("relay_check", "--host", "127.0.0.1", "--port", str(board.port), *args, stdout=out)
    return out.getvalue()


def test_a_board_that_answers_is_read_and_nothing_is_switched(waveshare):
    out = check(waveshare, "--framing", "rtu_over_tcp", "--door-input", "2")
    assert "(rtu_over_tcp, unit 1) answered in" in out and "relay 0 is OFF" in out
    assert "door input 2: inactive" in out
    assert waveshare.history == []


def test_unlock_pulses_the_relay_in_each_mode(waveshare):
    out = check(waveshare, "--framing", "rtu_over_tcp", "--coil", "3", "--pulse-ms", "300", "--unlock")
    assert "relay 3 pulsed for 300 ms (flash mode)" in out
    out = check(
        waveshare, "--framing", "rtu_over_tcp", "--coil", "4", "--pulse-ms", "300", "--mode", "coil", "--unlock"
    )
    assert "(coil mode)" in out
    assert [(e.relay, e.on, e.cause) for e in waveshare.history] == [
        (3, True, "flash"),
        (4, True, "coil"),
        (3, False, "pulse_end"),
        (4, False, "coil"),
    ]


def test_the_door_input_reads_what_the_sensor_says(waveshare):
    waveshare.control("door 2 open")
    assert "door input 2: active (door open)" in check(waveshare, "--framing", "rtu_over_tcp", "--door-input", "2")


def test_the_wrong_framing_is_named_with_the_one_that_answers(waveshare):
    with pytest.raises(CommandError, match="It answers as rtu_over_tcp: choose framing rtu_over_tcp"):
        check(waveshare)  # tcp, the default
    assert waveshare.history == []


def test_a_wrong_unit_id_gets_the_installer_s_checklist(waveshare):
    with pytest.raises(CommandError, match="unit id"):
        check(waveshare, "--framing", "rtu_over_tcp", "--unit", "2", "--deadline-ms", "500")
    assert waveshare.history == []


def test_bad_values_are_told_plainly():
    with pytest.raises(CommandError, match="port 0 outside"):
        call_command("relay_check", "--host", "127.0.0.1", "--port", "0")
