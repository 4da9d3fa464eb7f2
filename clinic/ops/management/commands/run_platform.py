"""`make run`: the whole platform on one machine, stopped together by Ctrl-C.

Redis at REDIS_URL (a private redis-server is started when none answers), migrations and
demo data, the relay simulator, a Celery worker and beat, and the ASGI web server.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def web_command(python: str, port: int) -> list[str]:
    """The ASGI web server as `make run` starts it. No proxy stands in front of it, so it takes
    no client address from X-Forwarded-For (uvicorn trusts it from 127.0.0.1 by default, and
    every client of a local run comes from there)."""
    return [python, "-m", "uvicorn", "clinic.asgi:application", "--host", "127.0.0.1", "--port", str(port)] + [
        "--no-proxy-headers"
    ]


class Command(BaseCommand):
    help = "Run the whole platform locally (web, worker, beat, relay simulator, Redis if needed)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--relay-port", type=int, default=int(os.environ.get("RELAY_SIM_PORT", "5020")))
        parser.add_argument(
            "--relay-control-port", type=int, default=int(os.environ.get("RELAY_SIM_CONTROL_PORT", "5021"))
        )

    def handle(self, *args, port: int, relay_port: int, relay_control_port: int, **options):
        self.children: list[tuple[str, subprocess.Popen]] = []
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        # Started in the background, a process inherits an ignored SIGINT; Ctrl-C must still work.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            self._ensure_redis()
            call_command("migrate", interactive=False, verbosity=0)
            call_command("seed_demo", relay_port=relay_port)
            python = sys.executable
            manage = str(Path(settings.BASE_DIR) / "manage.py")
            var = Path(settings.VAR_DIR)
            self._start(
                "relay simulator",
                [python, manage, "relay_simulator", "--port", str(relay_port), "--log", str(var / "relays.log")]
                + ["--control-port", str(relay_control_port)],
            )
            self._start(
                "celery worker", [python, "-m", "celery", "-A", "clinic", "worker", "-l", "info", "--concurrency", "2"]
            )
            self._start(
                "celery beat",
                [python, "-m", "celery", "-A", "clinic", "beat", "-l", "info", "-s", str(var / "celerybeat-schedule")],
            )
            self._start("web", web_command(python, port))
            self.stdout.write(
                self.style.SUCCESS(
                    f"Platform running: {settings.SITE_URL}  (API docs: /api/docs/, health: /healthz). "
                    "Ctrl-C stops everything."
                )
            )
            self.stdout.write(
                f"Relay simulator: 127.0.0.1:{relay_port}; open a door sensor with "
                f'`.venv/bin/python -m hardware.simulator --control-port {relay_control_port} --send "door 0 open"`, '
                f'take the board offline with --send "freeze" (and back with "thaw").'
            )
            while True:
                for name, process in self.children:
                    if process.poll() is not None:
                        raise CommandError(f"{name} stopped (exit code {process.returncode}); stopping the rest.")
                time.sleep(1)
        except KeyboardInterrupt:
            self.stdout.write("Stopping…")
        finally:
            self._stop_all()

    def _ensure_redis(self) -> None:
        url = urlparse(settings.REDIS_URL)
        host, port = url.hostname or "127.0.0.1", url.port or 6379
        if _answers(host, port):
            return
        binary = shutil.which("redis-server")
        if binary is None or host not in {"127.0.0.1", "localhost"}:
            raise CommandError(
                f"No Redis answers at {settings.REDIS_URL}; install it (apt-get install redis-server) or set REDIS_URL."
            )
        self._start("redis", [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"])
        for _ in range(50):
            if _answers(host, port):
                return
            time.sleep(0.1)
        raise CommandError("A private redis-server was started but does not answer.")

    def _start(self, name: str, command: list[str]) -> None:
        self.stdout.write(f"starting {name}: {' '.join(command)}")
        # Own process group, so Ctrl-C reaches each child once, through us.
        self.children.append((name, subprocess.Popen(command, start_new_session=True)))

    def _stop_all(self) -> None:
        for _, process in reversed(self.children):
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for _, process in self.children:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
