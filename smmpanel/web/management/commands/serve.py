import os
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from smmpanel.web import server


class Command(BaseCommand):
    help = "Run the panel under its production WSGI server."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000", help="HOST:PORT (default %(default)s)")
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
        parser.add_argument("--threads", type=int, default=4, help="Threads per worker process.")
        parser.add_argument("--server", choices=server.SERVERS, default=server.DEFAULT_SERVER)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            host, port = server.parse_bind(options["bind"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["workers"] < 1 or options["threads"] < 1:
            raise CommandError("--workers and --threads must be at least 1")
        argv = server.command(options["server"], host, port, options["workers"], options["threads"])
        self.stdout.write(f"serving on http://{options['bind']} with {options['server']}")
        self.stdout.flush()
        # exec: the server gets our pid, so SIGTERM from a supervisor reaches it directly.
        os.execv(argv[0], argv)
