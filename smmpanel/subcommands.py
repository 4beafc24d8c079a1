"""A management command made of sub-commands (`smmpanel provider add ...`, `smmpanel user credit
...`): one way to declare them and to run the one asked for."""

from argparse import ArgumentParser
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand

Options = dict[str, Any]
# A sub-command: its name, its help, the function adding its arguments, the method running it.
Subcommand = tuple[str, str, Callable[[ArgumentParser], None], Callable[[Options], None]]


class SubcommandsCommand(BaseCommand):
    """The first argument picks a sub-command; a new one is one line in `subcommands()`."""

    def subcommands(self) -> list[Subcommand]:
        raise NotImplementedError

    def add_arguments(self, parser: ArgumentParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
        for name, help_, arguments, run in self.subcommands():
            sub = commands.add_parser(name, help=help_, description=help_)
            arguments(sub)
            sub.set_defaults(run=run)

    def handle(self, *args: Any, **options: Any) -> None:
        options["run"](options)
