import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
from argparse import ArgumentParser
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django_otp import user_has_device

from smmpanel.accounts import second_factor
from smmpanel.accounts.models import ApiKey, StaffRole, User, hash_api_key
from smmpanel.accounts.services import rotate_api_key
from smmpanel.catalog import demo
from smmpanel.payments.gateways import demo as demo_gateway
from smmpanel.web import server

STOP_TIMEOUT = 30  # seconds the worker may take to finish its calls in flight
# Ctrl-C, `kill PID` and a closed terminal stop the whole demo, its server and worker too.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _set_password(user: User, password: str) -> None:
    user.set_password(password)
    user.save(update_fields=["password"])


def _console_operator(operator: User) -> None:
    """The demo's operator is an administrator with an authenticator the demo sets up itself
    (`smmpanel demo-code` shows its codes): a newcomer signs in to the console at once."""
    if operator.staff_role != StaffRole.ADMINISTRATOR:
        operator.staff_role = StaffRole.ADMINISTRATOR
        operator.save(update_fields=["staff_role"])
    if not user_has_device(operator, confirmed=True):
        second_factor.set_up_for_demo(operator)


def _credentials(path: Path) -> dict[str, str]:
    """The demo's logins and API key, made on the first run and kept in the data dir (never in git)."""
    creds: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if "password" not in creds:
        creds["password"] = secrets.token_urlsafe(12)
        operator, _ = User.objects.get_or_create(
            username="operator", defaults={"is_staff": True, "is_superuser": True}
        )
        _set_password(operator, creds["password"])
        creds["operator"] = "operator"
    named = User.objects.filter(username=creds["operator"]).first()
    if named is not None:
        _console_operator(named)
    customer = User.objects.get(username=demo.DEMO_CUSTOMER)
    if "customer" not in creds:  # the website's demo customer, same password
        _set_password(customer, creds["password"])
        creds["customer"] = demo.DEMO_CUSTOMER
    if "api_key" not in creds:  # the customer's only active key: the one the demo prints
        _key, creds["api_key"] = rotate_api_key(customer, name="demo")
    path.write_text(json.dumps(creds))
    path.chmod(0o600)
    return creds


def _demo_code_command() -> str:
    """How to run `smmpanel demo-code` from where the demo was started."""
    script = Path(sys.executable).with_name("smmpanel")
    try:
        shown = str(script.relative_to(Path.cwd()))
    except ValueError:
        shown = str(script)
    data = os.environ.get("SMMPANEL_DATA_DIR", "").strip()
    prefix = f"SMMPANEL_DATA_DIR={shlex.quote(data)} " if data else ""
    return f"{prefix}{shlex.quote(shown)} demo-code"


def _still_works(raw_key: str) -> bool:
    """Whether the key is still one of the demo customer's active keys (rotating on the API page ends it)."""
    return ApiKey.objects.filter(
        user__username=demo.DEMO_CUSTOMER, key_hash=hash_api_key(raw_key), is_active=True
    ).exists()


def _api_lines(url: str, raw_key: str) -> str:
    if _still_works(raw_key):
        key, note = raw_key, ""
    else:  # keys are stored hashed: the new one cannot be read back, only replaced
        key = "YOUR_KEY"
        note = (
            f"  the demo's API key was rotated and no longer works; sign in as {demo.DEMO_CUSTOMER} and\n"
            f"  make a new one on the API page, {url}/api/ (shown once: keys are stored hashed)\n"
        )
    return (
        f"  API (v2):        {url}/api/v2   key {key}\n"
        f"  API (v1):        {url}/api/v1\n"
        f"{note}"
        f"  try: curl -s {url}/api/v2 -d key={key} -d action=balance\n"
    )


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to each child (the server stops its own workers), then SIGKILL to any still there."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Command(BaseCommand):
    help = "Run the demo: migrate, seed the demo data once, and serve the panel on SQLite."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000", help="HOST:PORT (default %(default)s)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            host, port = server.parse_bind(options["bind"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        call_command("migrate", verbosity=0, interactive=False)
        demo.seed()
        creds = _credentials(Path(settings.DATA_DIR) / "demo-credentials.json")
        url = f"http://{options['bind']}"
        self.stdout.write(
            f"\nsmmpanel demo (simulated provider, data in {settings.DATA_DIR})\n"
            f"  website:         {url}/  login {creds['customer']} / {creds['password']}\n"
            f"  console:         {url}/console/  login {creds['operator']} / {creds['password']}\n"
            f"                   then the code: run `{_demo_code_command()}` in another terminal\n"
            f"  admin (raw data) {url}/admin/  the same login and code\n" + _api_lines(url, creds["api_key"])
        )
        self.stdout.write(
            "  a worker runs beside the server: orders reach the simulator and move by themselves\n"
            "  add funds with the demo gateway: a page of the panel plays it, no money moves\n"
        )
        self.stdout.flush()
        self._serve(server.command(server.DEFAULT_SERVER, host, port, workers=1, threads=4))

    def _serve(self, argv: list[str]) -> None:
        """The server and a worker until either ends, or Ctrl-C, SIGTERM or SIGHUP: then both stop."""
        script = Path(sys.executable).with_name("smmpanel")
        asked: list[int] = []  # a signal only sets this: the loop below stops the children

        def stop_asked(signum: int, frame: FrameType | None) -> None:
            asked.append(signum)

        handlers = {sig: signal.signal(sig, stop_asked) for sig in STOP_SIGNALS}
        children: dict[str, subprocess.Popen[bytes]] = {}
        # The demo gateway (payments/gateways/demo.py) works only in processes the demo starts.
        env = {**os.environ, demo_gateway.ENVIRONMENT: "1"}
        try:
            children["the server"] = subprocess.Popen(argv, env=env)
            children["the worker"] = subprocess.Popen([str(script), "worker"], env=env)
            while not asked and all(child.poll() is None for child in children.values()):
                time.sleep(0.2)
            ended = [(role, child.returncode) for role, child in children.items() if child.poll() is not None]
            if ended and not asked:  # the other one stops too: a demo without either is no demo
                role, code = ended[0]
                raise CommandError(f"{role} exited with code {code}: the demo stops")
        finally:
            _stop(list(children.values()))
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
