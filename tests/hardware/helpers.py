"""Helpers for hardware tests that run the simulator and clients as separate processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hardware.simulator import LOG_LINE_RE

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, *args: object, **popen_kwargs: object) -> subprocess.Popen:
    """Start ``python -c code args...`` with the project root importable."""
    return subprocess.Popen(  # type: ignore[call-overload]
        [sys.executable, "-c", code, *map(str, args)],
        cwd=ROOT,
        **popen_kwargs,
    )


def read_log(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def wait_for_line(path: Path, needle: str, timeout: float) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for line in read_log(path):
            if needle in line:
                return line
        time.sleep(0.01)
    raise AssertionError(f"{needle!r} not in {path} after {timeout}s:\n" + "\n".join(read_log(path)))


class SimProcess:
    """``python -m hardware.simulator`` in its own process, logging to a file."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._stderr = log_path.with_suffix(".stderr").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hardware.simulator", "--port", "0", "--log", str(log_path), "--quiet"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )
        line = wait_for_line(log_path, " listening ", timeout=10)
        match = LOG_LINE_RE.fullmatch(line)
        assert match and match["port"], line
        self.port = int(match["port"])

    def lines(self) -> list[str]:
        return read_log(self.log_path)

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
        return self.proc.returncode


def freeze(pid: int, timeout: float = 2.0) -> None:
    """SIGSTOP ``pid`` and wait until every thread is really stopped (kill() only queues the signal)."""
    os.kill(pid, signal.SIGSTOP)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        states = [
            (task / "stat").read_text().rsplit(")", 1)[1].split()[0] for task in Path(f"/proc/{pid}/task").iterdir()
        ]
        if all(state == "T" for state in states):
            return
        time.sleep(0.005)
    raise AssertionError(f"process {pid} did not stop")
