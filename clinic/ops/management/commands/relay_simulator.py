"""Run the Modbus TCP relay simulator (an 8-relay board) in the foreground."""

from django.core.management.base import BaseCommand

from hardware.simulator import serve_forever


class Command(BaseCommand):
    help = "Run a simulated 8-relay Modbus TCP board; each relay change is logged."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=5020)
        parser.add_argument("--log", default=None, help="also append relay changes to this file")

    def handle(self, *args, host: str, port: int, log: str | None, **options):
        self.stdout.write(f"Relay simulator on {host}:{port} (Ctrl-C to stop)")
        serve_forever(host, port, log)
