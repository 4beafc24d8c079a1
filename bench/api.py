"""Benchmark of the reseller API under `smmpanel serve`, against a bare baseline.

    .venv/bin/python bench/api.py [--server granian|gunicorn|both] [--workers N]
        [--threads N] [--requests N] [--scenarios status,add,...] [--reuse]

Creates (drops first) a PostgreSQL database, migrates and seeds it (bench/seed.py),
starts `smmpanel serve` and, with the very same server command line, the bare
WSGI application of bench/bare.py; then for each scenario (bench/scenarios.py)
drives both from a separate load generator process (bench/loadgen.py) with 32
keep-alive connections and prints requests/s and p50/p99 latency of each, and
the ratio ours/bare. Servers only listen on 127.0.0.1 and are killed (process
group) at the end, on Ctrl-C or on error. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NoReturn

import scenarios as sc
import seed
from servers import BENCH_DIR, Server, bare_argv, free_port, ours_argv

DEFAULT_URL = "postgres://root@127.0.0.1:5432/smmpanel_bench"
SERVER_KINDS = ("granian", "gunicorn")
# Targets (bench/README.md): ours/bare ratio, and status p99.
RATIO_TARGETS = {"status": 0.5, "add": 0.5}
P99_TARGETS_MS = {"status": 50.0}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the reseller API (smmpanel serve) against a bare WSGI baseline."
    )
    parser.add_argument(
        "--database-url",
        default=(os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
                 or DEFAULT_URL),
        help="PostgreSQL URL of the bench database; it is DROPPED and recreated, so its name "
             "must contain 'bench' (default: $BENCH_DATABASE_URL, $DATABASE_URL, or %(default)s)",
    )
    parser.add_argument("--server", choices=[*SERVER_KINDS, "both"], default="both")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=4,
                        help="threads per worker, as `smmpanel serve --threads` (default 4)")
    parser.add_argument("--requests", type=int, default=5000,
                        help="measured requests per scenario (default 5000)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--scenarios", default=",".join(sc.SCENARIOS),
                        help="comma-separated subset of: " + ", ".join(sc.SCENARIOS))
    parser.add_argument("--no-bare", action="store_true", help="skip the bare baseline")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the bench database if it is already seeded")
    parser.add_argument("--max-seconds", type=float, default=90.0,
                        help="cap on one scenario's measured phase (then flagged truncated)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (server logs)")
    args = parser.parse_args()
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    unknown = [n for n in names if n not in sc.SCENARIOS]
    if unknown or not names:
        parser.error(f"unknown scenario(s) {unknown}; choose from {', '.join(sc.SCENARIOS)}")
    args.scenario_names = names
    if args.workers < 1 or args.threads < 1 or args.requests < 1 or args.connections < 1:
        parser.error("--workers, --threads, --requests and --connections must be at least 1")
    return args


def prepare_database(args: argparse.Namespace, env: dict[str, str], data_dir: str) -> seed.Fixture:
    url = args.database_url
    started = time.perf_counter()
    fresh = not (args.reuse and seed.database_exists(url))
    if fresh:
        seed.recreate_database(url)
    seed.smmpanel(["migrate", "--noinput", "-v", "0"], env)
    seed.configure_django(url, data_dir)
    from django.db import connections

    from smmpanel.accounts.models import User

    if not User.objects.filter(username=seed.BENCH_USER).exists():
        if not fresh:
            print("  --reuse: database not seeded yet, seeding it")
        seed.seed()
        what = "seeded"
    else:
        what = "reused"
    fixture = seed.fixture()
    connections.close_all()
    ledger = seed.smmpanel(["check-ledger"], env)
    print(f"database {seed.database_name(url)} {what} in {time.perf_counter() - started:.1f} s "
          f"({len(fixture.order_ids):,} orders of the bench customer); {ledger}")
    return fixture


def run_load(args: argparse.Namespace, port: int, scenario: sc.Scenario, fixture: seed.Fixture,
             tag: str, tmp: Path) -> dict[str, Any]:
    count = args.requests
    warmup = max(50, count // 10)
    bodies_path = tmp / f"bodies-{tag}.txt"
    bodies = sc.bodies(scenario, fixture, warmup + count, tag)
    bodies_path.write_text("\n".join(bodies) + "\n")
    argv = [sys.executable, str(BENCH_DIR / "loadgen.py"), "--port", str(port),
            "--path", "/api/v2", "--bodies", str(bodies_path), "--warmup", str(warmup),
            "--connections", str(args.connections), "--max-seconds", str(args.max_seconds)]
    for text in scenario.expect:
        argv += ["--expect", text]
    for text in scenario.reject:
        argv += ["--reject", text]
    done = subprocess.run(argv, capture_output=True, text=True, check=False,
                          timeout=2 * args.max_seconds + 120)
    bodies_path.unlink()
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def fmt_run(r: dict[str, Any] | None) -> str:
    if r is None:
        return f"{'-':>9} {'-':>7} {'-':>7}"
    return f"{r['rps']:9.1f} {r['p50_ms']:7.1f} {r['p99_ms']:7.1f}"


def ratio(ours: dict[str, Any], bare: dict[str, Any] | None) -> float | None:
    if bare is None or not bare["rps"]:
        return None
    return float(ours["rps"]) / float(bare["rps"])


def print_table(kind: str, args: argparse.Namespace, rows: dict[str, dict[str, Any]]) -> None:
    print()
    print(f"== {kind}: {args.workers} workers x {args.threads} threads, "
          f"{args.connections} connections ==")
    print(f"{'scenario':<10} {'requests':>8} | {'ours rps':>9} {'p50 ms':>7} {'p99 ms':>7} | "
          f"{'bare rps':>9} {'p50 ms':>7} {'p99 ms':>7} | {'ours/bare':>9}")
    for name, row in rows.items():
        r = ratio(row["ours"], row.get("bare"))
        flag = "  ERRORS" if row["ours"]["errors"] or (row.get("bare") or {}).get("errors") else ""
        flag += "  TRUNCATED" if row["ours"]["truncated"] else ""
        print(f"{name:<10} {row['ours']['completed']:>8} | {fmt_run(row['ours'])} | "
              f"{fmt_run(row.get('bare'))} | {(f'{r:.2f}' if r is not None else '-'):>9}{flag}")


def targets(rows: dict[str, dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for the targets whose scenario was run."""
    out = []
    for name, minimum in RATIO_TARGETS.items():
        if name in rows and rows[name].get("bare"):
            r = ratio(rows[name]["ours"], rows[name]["bare"])
            assert r is not None
            out.append((f"{name}: ours/bare >= {minimum}", f"{r:.2f}", r >= minimum))
    for name, limit in P99_TARGETS_MS.items():
        if name in rows:
            p99 = float(rows[name]["ours"]["p99_ms"])
            out.append((f"{name}: p99 < {limit:g} ms", f"{p99:.1f} ms", p99 < limit))
    return out


def errors_of(results: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    lines = []
    for kind, rows in results.items():
        for name, row in rows.items():
            for app in ("ours", "bare"):
                r = row.get(app)
                if r and (r["errors"] or r["warmup_errors"]):
                    lines.append(f"{kind} {name} {app}: {r['errors']} errors of {r['requests']} "
                                 f"(+{r['warmup_errors']} in warm-up) {r['error_kinds']}")
                    lines += [f"    {s}" for s in r["error_samples"] + r["warmup_samples"]]
    return lines


def compare_servers(results: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any] | None:
    """Which server serves *our* application faster: geometric mean of the rps ratios."""
    if not all(kind in results for kind in SERVER_KINDS):
        return None
    g, u = results["granian"], results["gunicorn"]
    common = [name for name in g if name in u]
    print()
    print("== granian vs gunicorn, our application ==")
    print(f"{'scenario':<10} | {'granian rps':>11} {'p99 ms':>7} | "
          f"{'gunicorn rps':>12} {'p99 ms':>7} | {'granian/gunicorn':>16}")
    logs = []
    for name in common:
        a, b = g[name]["ours"], u[name]["ours"]
        r = a["rps"] / b["rps"] if b["rps"] else math.nan
        logs.append(math.log(r))
        print(f"{name:<10} | {a['rps']:11.1f} {a['p99_ms']:7.1f} | {b['rps']:12.1f} "
              f"{b['p99_ms']:7.1f} | {r:16.2f}")
    mean = math.exp(sum(logs) / len(logs))
    winner, margin = ("granian", mean) if mean >= 1 else ("gunicorn", 1 / mean)
    print(f"winner: {winner}, {100 * (margin - 1):.0f}% more requests/s "
          f"(geometric mean over {len(common)} scenarios)")
    return {"winner": winner, "margin": margin, "granian_over_gunicorn": mean}


def main() -> int:
    args = parse_args()

    def on_term(signum: int, frame: object) -> NoReturn:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    kinds = list(SERVER_KINDS) if args.server == "both" else [args.server]
    tmp = Path(tempfile.mkdtemp(prefix="smmpanel-bench-"))
    data_dir = tmp / "data"
    data_dir.mkdir()
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": args.database_url, "SMMPANEL_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "smmpanel.settings", "DEBUG": "0", "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    })
    bare_env = dict(env, PYTHONPATH=os.pathsep.join(
        p for p in (str(BENCH_DIR), env.get("PYTHONPATH", "")) if p))
    servers: list[Server] = []
    results: dict[str, dict[str, dict[str, Any]]] = {}
    run_id = time.strftime("%Y%m%d%H%M%S")
    started = time.perf_counter()
    print(f"smmpanel API bench: {os.cpu_count()} CPUs, {platform.python_implementation()} "
          f"{platform.python_version()}, servers {', '.join(kinds)}, {args.workers} workers x "
          f"{args.threads} threads, {args.requests} requests/scenario, "
          f"{args.connections} connections")
    try:
        fixture = prepare_database(args, env, str(data_dir))
        probe = f"key={fixture.key}&action=balance"
        for kind in kinds:
            port = free_port()
            pair = [Server(f"ours/{kind}", ours_argv(kind, port, args.workers, args.threads),
                           port, env, tmp / f"ours-{kind}.log")]
            if not args.no_bare:
                port = free_port()
                argv = bare_argv(kind, port, args.workers, args.threads)
                pair.append(Server(f"bare/{kind}", argv, port, bare_env,
                                   tmp / f"bare-{kind}.log", cwd=BENCH_DIR))
            for srv in pair:
                servers.append(srv)
                srv.start()
            for srv in pair:
                srv.wait_ready(probe)
            rows: dict[str, dict[str, Any]] = {}
            results[kind] = rows
            for name in args.scenario_names:
                scenario = sc.SCENARIOS[name]
                row: dict[str, Any] = {}
                for srv in pair:
                    app = srv.label.split("/")[0]
                    row[app] = run_load(args, srv.port, scenario, fixture,
                                        f"{run_id}-{kind}-{app}-{name}", tmp)
                    if srv.proc is not None and srv.proc.poll() is not None:
                        raise RuntimeError(f"{srv.label} died:\n{srv.log_tail()}")
                rows[name] = row
                r = ratio(row["ours"], row.get("bare"))
                print(f"  {kind:<8} {name:<10} ours {fmt_run(row['ours'])}   bare "
                      f"{fmt_run(row.get('bare'))}   ratio {f'{r:.2f}' if r else '-'}", flush=True)
            for srv in pair:
                srv.stop()
        ledger = seed.smmpanel(["check-ledger"], env)
    except BaseException:
        for srv in servers:
            tail = srv.log_tail(15)
            if tail:
                print(f"--- last lines of {srv.label} log ---\n{tail}", file=sys.stderr)
        raise
    finally:
        for srv in servers:
            srv.stop()
        if args.keep_tmp:
            print(f"temp dir kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    for kind, rows in results.items():
        print_table(kind, args, rows)
        for target, measured, met in targets(rows):
            print(f"  target {target:<28} {measured:>9}  {'PASS' if met else 'MISS'}")
    comparison = compare_servers(results)
    print()
    print(f"after the run: {ledger}; total time {time.perf_counter() - started:.0f} s")
    problems = errors_of(results)
    if problems:
        print()
        print("!" * 78)
        print("!!! ERRORS: some responses were not a 200 with the expected body.")
        print("!!! The figures above are NOT valid measurements.")
        print("\n".join(problems))
        print("!" * 78)
    if args.json:
        args.json.write_text(json.dumps({
            "date": time.strftime("%Y-%m-%d %H:%M:%S"), "cpus": os.cpu_count(),
            "argv": sys.argv[1:], "workers": args.workers, "threads": args.threads,
            "connections": args.connections, "requests": args.requests,
            "results": results, "comparison": comparison, "errors": problems,
        }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
