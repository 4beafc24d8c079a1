import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from smmpanel.catalog import demo


class Command(BaseCommand):
    help = "Create the demo catalogue (a service of every type) and customer, once."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print {username, api_key (a fresh key), services: {type: id}}.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        services = demo.seed()
        if options["json"]:
            payload = {
                "username": demo.DEMO_CUSTOMER,
                "api_key": demo.fresh_key(),
                "services": services,
            }
            self.stdout.write(json.dumps(payload))
        else:
            self.stdout.write(
                f"demo catalogue ready: {len(services)} services, customer {demo.DEMO_CUSTOMER!r}"
            )
