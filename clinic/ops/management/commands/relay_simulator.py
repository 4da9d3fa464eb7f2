"""Run the Modbus relay simulator (an 8-relay board) in the foreground."""

from django.core.management.base import BaseCommand, CommandError

from hardware.simulator import CONTROL_HELP, FRAMINGS, serve_forever


class Command(BaseCommand):
    help = "Run a simulated 8-relay Modbus board (TCP or RTU over TCP); each relay change is logged."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=5020)
        parser.add_argument("--log", default=None, help="also append relay changes to this file")
        parser.add_argument("--framing", choices=tuple(FRAMINGS), default="tcp")
        parser.add_argument("--unit", type=int, default=1, help="the board's unit id; other ids get no answer")
        parser.add_argument("--control-port", type=int, default=None, help=f"127.0.0.1 control socket; {CONTROL_HELP}")

    def handle(self, *args, host: str, port: int, log: str | None, framing: str, unit: int, control_port, **options):
        control = f", control on 127.0.0.1:{control_port}" if control_port else ""
        self.stdout.write(f"Relay simulator on {host}:{port} ({framing}, unit {unit}{control}; Ctrl-C to stop)")
        try:
            serve_forever(host, port, log, framing=framing, unit=unit, control_port=control_port)
        except (OSError, ValueError) as exc:
            raise CommandError(f"relay simulator: {exc}") from exc
