"""Where the time goes: the panel's and the bare WSGI application called in-process.

    .venv/bin/python bench/inprocess.py [--scenarios status,add] [--calls 2000]
        [--profile status] [--top 30]

No HTTP server and no load generator: each application is called in a loop on
the same prepared request, on the bench database (run bench/api.py first; this
reuses its data and issues a fresh key). Prints microseconds per call of ours
and bare, and their ratio: the application's own cost, without the server's.
First checks that both answer the same JSON (add: the same keys). With
--profile NAME, runs our application on that scenario under cProfile and prints
the functions with the most own time and the most cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from typing import Any

import scenarios as sc
import seed

DEFAULT_URL = "postgres://root@127.0.0.1:5432/smmpanel_bench"
App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def environ(body: str) -> dict[str, Any]:
    raw = body.encode()
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v2",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(raw)),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(raw),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def call(app: App, body: str) -> tuple[str, bytes]:
    seen: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> None:
        seen.append(status)

    payload = b"".join(app(environ(body), start_response))
    return seen[0], payload


def per_call_us(app: App, bodies: list[str]) -> float:
    started = time.perf_counter()
    for body in bodies:
        call(app, body)
    return (time.perf_counter() - started) / len(bodies) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description="In-process cost of ours vs bare, per call.")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--scenarios", default=",".join(sc.SCENARIOS))
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--profile", choices=list(sc.SCENARIOS), action="append", default=[])
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    if not seed.database_exists(args.database_url):
        parser.error("no bench database: run bench/api.py first")
    with tempfile.TemporaryDirectory(prefix="smmpanel-inprocess-") as tmp:
        seed.configure_django(args.database_url, tmp)
        return run(parser, args)


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from smmpanel.accounts.models import User

    if not User.objects.filter(username=seed.BENCH_USER).exists():
        parser.error("the bench database is not seeded: run bench/api.py first")
    fixture = seed.fixture()
    import bare

    from smmpanel.wsgi import application as ours

    bare.DSN = args.database_url
    tag = f"inproc{time.strftime('%H%M%S')}"
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    print(f"{'scenario':<10} {'ours us/call':>12} {'bare us/call':>12} {'ours/bare time':>14}")
    for name in names:
        scenario = sc.SCENARIOS[name]
        warm = sc.bodies(scenario, fixture, 2 * args.calls + 100, tag + name)
        check_o = call(ours, warm[0])
        check_b = call(bare.application, warm[1] if name == "add" else warm[0])
        same = json.loads(check_o[1]), json.loads(check_b[1])
        if check_o[0] != check_b[0] or (
            same[0] != same[1] if name != "add" else same[0].keys() != same[1].keys()
        ):
            print(
                f"  {name}: answers differ!\n    ours {check_o[0]} {check_o[1][:300]!r}"
                f"\n    bare {check_b[0]} {check_b[1][:300]!r}"
            )
        for body in warm[2:100]:
            call(ours, body)
            call(bare.application, body.replace("bench-", "bare-"))
        ours_us = per_call_us(ours, warm[100 : 100 + args.calls])
        bare_us = per_call_us(bare.application, warm[100 + args.calls :])
        print(f"{name:<10} {ours_us:12.0f} {bare_us:12.0f} {ours_us / bare_us:14.2f}")
    for name in args.profile:
        scenario = sc.SCENARIOS[name]
        bodies = sc.bodies(scenario, fixture, args.calls, tag + "prof" + name)
        profiler = cProfile.Profile()
        profiler.enable()
        for body in bodies:
            call(ours, body)
        profiler.disable()
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats(order).print_stats(args.top)
            print(f"\n=== ours, {name}, {args.calls} calls, by {order} ===")
            print(out.getvalue().split("\n\n", 1)[-1].replace(os.getcwd() + "/", ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
