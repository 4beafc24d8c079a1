from argparse import ArgumentParser
from collections.abc import Callable

from django.conf import settings
from django.core.management.base import CommandError

from smmpanel.accounts import staff
from smmpanel.accounts.models import StaffRole, User
from smmpanel.subcommands import Options, Subcommand, SubcommandsCommand

ROLES = ", ".join(StaffRole.values)


def _name(parser: ArgumentParser) -> None:
    parser.add_argument("name")


def _create_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("--role", required=True, help=f"One of {ROLES}.")
    parser.add_argument("--email", default="")


def _role_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("role", help=f"One of {ROLES}.")


def _nothing(parser: ArgumentParser) -> None:
    pass


def _refused(change: Callable[[], None]) -> None:
    """Run a change; its StaffError becomes the command's error (and nothing was changed)."""
    try:
        change()
    except staff.StaffError as exc:
        raise CommandError(str(exc)) from None


class Command(SubcommandsCommand):
    help = "Members of staff (console access): `staff create NAME --role R`, list, role, disable, reset-2fa."

    def subcommands(self) -> list[Subcommand]:
        return [
            (
                "create",
                "Create a member of staff and print their one-time setup link.",
                _create_arguments,
                self._create,
            ),
            (
                "list",
                "Every member of staff: role, active, second factor, last sign-in.",
                _nothing,
                self._list,
            ),
            ("role", "Give a member of staff another role.", _role_arguments, self._role),
            ("disable", "Stop a member of staff signing in; their open sessions end.", _name, self._disable),
            ("reset-2fa", "Forget their authenticator; print a new setup link.", _name, self._reset),
        ]

    def _member(self, name: str) -> User:
        try:
            return staff.member(name)
        except staff.StaffError as exc:
            raise CommandError(str(exc)) from None

    def _link(self, user: User) -> None:
        hours = settings.SMMPANEL_STAFF_SETUP_HOURS
        self.stdout.write(f"setup link (works once, for {hours} hours): {staff.setup_link(user)}")
        if not settings.SMMPANEL_SITE_URL:
            self.stdout.write("  (a path: put the panel's address before it, or set SMMPANEL_SITE_URL)")

    def _create(self, options: Options) -> None:
        created: list[User] = []
        _refused(lambda: created.append(staff.create(options["name"], options["role"], options["email"])))
        user = created[0]
        self.stdout.write(f"created {user.username} ({user.staff_role}): they choose a password, then set up")
        self.stdout.write("their authenticator app, through this link")
        self._link(user)

    def _list(self, options: Options) -> None:
        rows = [("name", "role", "active", "second factor", "last sign-in")]
        for m in staff.members():
            last = m.last_login.strftime("%Y-%m-%d %H:%M") if m.last_login else "never"
            rows.append(
                (
                    m.username,
                    m.role or "-",
                    "yes" if m.active else "no",
                    "set up" if m.second_factor else "not yet",
                    last,
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write(
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            )

    def _role(self, options: Options) -> None:
        user = self._member(options["name"])
        _refused(lambda: staff.change_role(user, options["role"]))
        self.stdout.write(f"{user.username} is now {options['role']}")

    def _disable(self, options: Options) -> None:
        user = self._member(options["name"])
        ended = staff.disable(user)
        self.stdout.write(f"{user.username} is disabled: no more sign-in ({ended} open session(s) ended)")

    def _reset(self, options: Options) -> None:
        user = self._member(options["name"])
        if not user.is_active:
            raise CommandError(f"{user.username} is disabled: their second factor stays as it is")
        staff.reset_second_factor(user)
        self.stdout.write(
            f"{user.username}'s authenticator and recovery codes are gone: their next sign-in sets"
        )
        self.stdout.write("up new ones. If they lost their password as well, this link sets a new one")
        self._link(user)
