"""Latency figures for relay unlocks against an in-process simulator: raw pymodbus FC05 vs ModbusRelayLock.

Run: .venv/bin/python bench/scan_raw.py [-n 500]. Prints numbers only, asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# Runnable as a plain script from the project root, without installing anything.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pymodbus.client import ModbusTcpClient

from hardware.protocol import FLASH_ON_BASE, RawWriteSingleCoil
from hardware.relays import ModbusRelayLock, RelayTarget
from hardware.simulator import RelaySimulator

PULSE_UNITS = 1  # 100 ms: short so pulses do not pile up during the run


def summary(label: str, seconds: Sequence[float]) -> str:
    ms = [s * 1000 for s in seconds]
    p99 = statistics.quantiles(ms, n=100)[98]
    return f"{label:<46} median {statistics.median(ms):6.3f} ms   p99 {p99:6.3f} ms   max {max(ms):6.3f} ms"


def timed(n: int, step: Callable[[int], None]) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        step(i)
        out.append(time.perf_counter() - t0)
    return out


def flash(coil: int) -> RawWriteSingleCoil:
    return RawWriteSingleCoil(FLASH_ON_BASE + coil, PULSE_UNITS, dev_id=1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="samples per measurement")
    n = parser.parse_args(argv).n

    with RelaySimulator() as sim:
        port = sim.port
        print(f"simulator 127.0.0.1:{port} in-process (shares the GIL with the client), N={n}")

        client = ModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
        client.register(RawWriteSingleCoil)
        client.connect()
        timed(20, lambda i: client.execute(False, flash(i % 8)))  # warm-up
        persistent = timed(n, lambda i: client.execute(False, flash(i % 8)))
        client.close()
        print(summary("raw FC05 flash, one persistent connection", persistent))

        def connect_write(i: int) -> None:
            c = ModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
            c.register(RawWriteSingleCoil)
            try:
                c.connect()
                c.execute(False, flash(i % 8))
            finally:
                c.close()

        print(summary("raw FC05 flash, connect per command", timed(n, connect_write)))

        lock = ModbusRelayLock()
        targets = [RelayTarget("127.0.0.1", port, coil=c, pulse_ms=PULSE_UNITS * 100) for c in range(8)]
        unlock_times: list[float] = []
        to_coil_on: list[float] = []
        for i in range(n):
            seen = len(sim.history)
            t0 = time.monotonic()
            lock.unlock(targets[i % 8])
            unlock_times.append(time.monotonic() - t0)
            coil_on = next(e for e in sim.history[seen:] if e.on and e.cause == "flash")
            to_coil_on.append(coil_on.monotonic - t0)
        print(summary("ModbusRelayLock.unlock (connect+write+read)", unlock_times))
        print(summary("unlock() start -> simulator coil ON", to_coil_on))
    return 0


if __name__ == "__main__":
    sys.exit(main())
