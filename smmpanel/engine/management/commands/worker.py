from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from smmpanel.engine.worker import Worker


class Command(BaseCommand):
    help = "Run the fulfilment engine: send orders, follow them, refund, release drip-feed runs."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--threads", type=int, default=16, help="Provider calls in flight at once.")
        parser.add_argument("--batch", type=int, default=50, help="Orders claimed per round.")
        parser.add_argument(
            "--name", default="", help="The worker's name in the console (default: host:pid)."
        )
        parser.add_argument("--idle", type=float, default=1.0, help="Seconds to wait when there is no work.")

    def handle(self, *args: Any, **options: Any) -> None:
        Worker(
            idle_seconds=options["idle"],
            threads=options["threads"],
            batch=options["batch"],
            name=options["name"],
        ).run()
