"""The `smmpanel` command: Django's management commands, with dashed names allowed.

`smmpanel seed-demo` runs the `seed_demo` command, `smmpanel check-ledger`
runs `check_ledger`, and `smmpanel migrate` is Django's own.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smmpanel.settings")
    argv = list(sys.argv)
    argv[0] = "smmpanel"
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
