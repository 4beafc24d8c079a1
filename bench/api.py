"""Benchmark of the reseller API under `smmpanel serve`, against a bare baseline.

    .venv/bin/python bench/api.py [--server granian|gunicorn|both] [--workers N]
        [--threads N] [--requests N] [--rounds N] [--scenarios status,add,...] [--reuse]

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

import cpu
import scenarios as sc
import seed
from servers import BENCH_DIR, Server, bare_argv, free_port, ours_argv

DEFAULT_URL = "postgres://root@127.0.0.1:5432/smmpanel_bench"
SERVER_KINDS = ("granian", "gunicorn")
APPS = ("ours", "bare")
# Targets (bench/README.md): ours/bare ratio, and status p99.
RATIO_TARGETS = {"status": 0.5, "add": 0.5}
P99_TARGETS_MS = {"status": 50.0}
# A run during which other processes used more than this share of the machine is flagged.
BUSY = 0.10

Result = dict[str, Any]
Row = dict[str, Any]  # "ours"/"bare": the best Result; "rounds": every Result


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the reseller API (smmpanel serve) against a bare WSGI baseline."
    )
    parser.add_argument(
        "--database-url",
        default=(os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_URL),
        help="PostgreSQL URL of the bench database; it is DROPPED and recreated, so its name "
        "must contain 'bench' (default: $BENCH_DATABASE_URL, $DATABASE_URL, or %(default)s)",
    )
    parser.add_argument("--server", choices=[*SERVER_KINDS, "both"], default="both")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument(
        "--threads", type=int, default=4, help="threads per worker, as `smmpanel serve --threads` (default 4)"
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=5000,
        help="measured requests per scenario; services sends a fifth (default 5000)",
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure each scenario N times (ours and bare alternating) and "
        "keep each one's best: for a machine shared with others",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(sc.SCENARIOS),
        help="comma-separated subset of: " + ", ".join(sc.SCENARIOS),
    )
    parser.add_argument("--no-bare", action="store_true", help="skip the bare baseline")
    parser.add_argument(
        "--limiter",
        choices=seed.LIMITERS,
        default="memory",
        help="the API rate limit, raised out of reach: per-process (default), in Redis (--redis-url), or off",
    )
    parser.add_argument("--redis-url", default=seed.DEFAULT_REDIS_URL)
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the bench database if it is already seeded"
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=10.0,
        help="before each measurement, wait up to this many seconds for other "
        "processes to leave the CPUs idle (default 10)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=90.0,
        help="cap on one scenario's measured phase (then flagged truncated)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (server logs)")
    args = parser.parse_args()
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    unknown = [n for n in names if n not in sc.SCENARIOS]
    if unknown or not names:
        parser.error(f"unknown scenario(s) {unknown}; choose from {', '.join(sc.SCENARIOS)}")
    args.scenario_names = names
    if min(args.workers, args.threads, args.requests, args.connections, args.rounds) < 1:
        parser.error("--workers, --threads, --requests, --connections and --rounds must be >= 1")
    return args


def prepare_database(args: argparse.Namespace, env: dict[str, str], data_dir: str) -> seed.Fixture:
    url = args.database_url
    started = time.perf_counter()
    fresh = not (args.reuse and seed.database_exists(url))
    if fresh:
        seed.recreate_database(url)
    seed.smmpanel(["migrate", "--noinput", "-v", "0"], env)
    seed.configure_django(url, data_dir, args.limiter)
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
    print(
        f"database {seed.database_name(url)} {what} in {time.perf_counter() - started:.1f} s "
        f"({len(fixture.order_ids):,} orders of the bench customer); {ledger}"
    )
    return fixture


def run_load(
    args: argparse.Namespace, port: int, scenario: sc.Scenario, fixture: seed.Fixture, tag: str, tmp: Path
) -> Result:
    count = scenario.count(args.requests)
    warmup = max(50, count // 10)
    bodies_path = tmp / f"bodies-{tag}.txt"
    bodies = sc.bodies(scenario, fixture, warmup + count, tag)
    bodies_path.write_text("\n".join(bodies) + "\n")
    argv = [
        sys.executable,
        str(BENCH_DIR / "loadgen.py"),
        "--port",
        str(port),
        "--path",
        "/api/v2",
        "--bodies",
        str(bodies_path),
        "--warmup",
        str(warmup),
        "--connections",
        str(args.connections),
        "--max-seconds",
        str(args.max_seconds),
    ]
    for text in scenario.expect:
        argv += ["--expect", text]
    for text in scenario.reject:
        argv += ["--reject", text]
    done = subprocess.run(
        argv, capture_output=True, text=True, check=False, timeout=2 * args.max_seconds + 120
    )
    bodies_path.unlink()
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: Result = json.loads(done.stdout)
    return result


def measure(
    args: argparse.Namespace,
    pair: list[Server],
    scenario: sc.Scenario,
    fixture: seed.Fixture,
    tag: str,
    tmp: Path,
) -> Row:
    """Every round of one scenario on ours and bare (alternating who goes first)."""
    database = seed.database_name(args.database_url)
    rounds: list[Result] = []
    for n in range(args.rounds):
        for srv in pair if n % 2 == 0 else pair[::-1]:
            app = srv.label.split("/")[0]
            before, waited = cpu.wait_quiet(args.wait_quiet)
            meter = cpu.Meter({srv.proc.pid} if srv.proc is not None else set(), database)
            result = run_load(args, srv.port, scenario, fixture, f"{tag}-{app}-{n}", tmp)
            used = meter.read()
            answered = max(1, result["completed"] + result["warmup_completed"])
            result.update(
                app=app,
                round=n,
                others_cpu=used.get("others"),
                busy_before=before,
                waited_s=round(waited, 1),
                # CPU per request of the server and of PostgreSQL: what contention changes least.
                server_cpu_us=round(used.get("server_s", 0) * 1e6 / answered),
                db_cpu_us=round(used.get("db_s", 0) * 1e6 / answered),
            )
            rounds.append(result)
            if srv.proc is not None and srv.proc.poll() is not None:
                raise RuntimeError(f"{srv.label} died:\n{srv.log_tail()}")
    row: Row = {"rounds": rounds}
    for app in APPS:
        mine = [r for r in rounds if r["app"] == app]
        if mine:
            row[app] = max(mine, key=lambda r: (r["errors"] == 0, r["rps"]))
    return row


def cpu_us(r: Result) -> int:
    """Server plus PostgreSQL CPU time per request, in microseconds."""
    return int(r.get("server_cpu_us", 0)) + int(r.get("db_cpu_us", 0))


def fmt_run(r: Result | None) -> str:
    if r is None:
        return f"{'-':>8} {'-':>6} {'-':>6} {'-':>6}"
    return f"{r['rps']:8.1f} {r['p50_ms']:6.1f} {r['p99_ms']:6.1f} {cpu_us(r):6d}"


def ratio(row: Row) -> float | None:
    bare = row.get("bare")
    if bare is None or not bare["rps"]:
        return None
    return float(row["ours"]["rps"]) / float(bare["rps"])


def cpu_ratio(row: Row) -> float | None:
    """bare's CPU per request over ours: like `ratio`, but what contention changes least."""
    bare = row.get("bare")
    if bare is None or not cpu_us(row["ours"]) or not cpu_us(bare):
        return None
    return cpu_us(bare) / cpu_us(row["ours"])


def fmt_ratio(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "-"


def others_of(row: Row) -> float:
    return max((row[app].get("others_cpu") or 0.0) for app in APPS if app in row)


def flags(row: Row) -> str:
    runs = [row[app] for app in APPS if app in row]
    text = "  ERRORS" if any(r["errors"] for r in runs) else ""
    text += "  TRUNCATED" if any(r["truncated"] for r in runs) else ""
    text += "  BUSY" if others_of(row) > BUSY else ""
    return text


def progress_line(kind: str, name: str, row: Row) -> str:
    return (
        f"  {kind:<8} {name:<10} ours {fmt_run(row['ours'])}  bare {fmt_run(row.get('bare'))}"
        f"  ratio {fmt_ratio(ratio(row)):>4} cpu {fmt_ratio(cpu_ratio(row)):>4}"
        f"  others {others_of(row):4.0%}{flags(row)}"
    )


def print_table(kind: str, args: argparse.Namespace, rows: dict[str, Row]) -> None:
    print()
    best = f", best of {args.rounds} rounds" if args.rounds > 1 else ""
    print(
        f"== {kind}: {args.workers} workers x {args.threads} threads, {args.connections} connections{best} =="
    )
    print(f"{'':<10} {'':>8} | {'ours':^29} | {'bare':^29} | {'ours/bare':^10} |")
    print(
        f"{'scenario':<10} {'requests':>8} | {'rps':>8} {'p50':>6} {'p99':>6} {'cpu':>6} | "
        f"{'rps':>8} {'p50':>6} {'p99':>6} {'cpu':>6} | {'rps':>4} {'cpu':>5} | {'others':>6}"
    )
    for name, row in rows.items():
        print(
            f"{name:<10} {row['ours']['completed']:>8} | {fmt_run(row['ours'])} | "
            f"{fmt_run(row.get('bare'))} | {fmt_ratio(ratio(row)):>4} {fmt_ratio(cpu_ratio(row)):>5}"
            f" | {others_of(row):6.0%}{flags(row)}"
        )
    print(
        "(p50/p99 in ms; cpu = server + PostgreSQL CPU microseconds per request; "
        "ours/bare cpu = bare cpu / ours cpu)"
    )


def targets(rows: dict[str, Row]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for the targets whose scenario was run."""
    out = []
    for name, minimum in RATIO_TARGETS.items():
        r = ratio(rows[name]) if name in rows else None
        if r is not None:
            out.append((f"{name}: ours/bare >= {minimum}", f"{r:.2f}", r >= minimum))
    for name, limit in P99_TARGETS_MS.items():
        if name in rows:
            p99 = float(rows[name]["ours"]["p99_ms"])
            out.append((f"{name}: p99 < {limit:g} ms", f"{p99:.1f} ms", p99 < limit))
    return out


def errors_of(results: dict[str, dict[str, Row]]) -> list[str]:
    lines = []
    for kind, rows in results.items():
        for name, row in rows.items():
            for r in row["rounds"]:
                if r["errors"] or r["warmup_errors"]:
                    lines.append(
                        f"{kind} {name} {r['app']} round {r['round']}: {r['errors']} errors of "
                        f"{r['requests']} (+{r['warmup_errors']} in warm-up) {r['error_kinds']}"
                    )
                    lines += [f"    {s}" for s in r["error_samples"] + r["warmup_samples"]]
    return lines


def compare_servers(results: dict[str, dict[str, Row]]) -> dict[str, Any] | None:
    """Which server serves *our* application faster: geometric mean of the rps ratios."""
    if not all(kind in results for kind in SERVER_KINDS):
        return None
    g, u = results["granian"], results["gunicorn"]
    common = [name for name in g if name in u]
    print()
    print("== granian vs gunicorn, our application ==")
    print(f"{'':<10} | {'granian':^20} | {'gunicorn':^20} | {'granian/gunicorn':^16}")
    print(
        f"{'scenario':<10} | {'rps':>7} {'p99':>6} {'cpu':>5} | {'rps':>7} {'p99':>6} {'cpu':>5} "
        f"| {'rps':>7} {'cpu':>8}"
    )
    logs, cpu_logs = [], []
    for name in common:
        a, b = g[name]["ours"], u[name]["ours"]
        r = a["rps"] / b["rps"] if a["rps"] and b["rps"] else 1.0
        c = cpu_us(b) / cpu_us(a) if cpu_us(a) and cpu_us(b) else 1.0
        logs.append(math.log(r))
        cpu_logs.append(math.log(c))
        print(
            f"{name:<10} | {a['rps']:7.1f} {a['p99_ms']:6.1f} {cpu_us(a):5d} | {b['rps']:7.1f} "
            f"{b['p99_ms']:6.1f} {cpu_us(b):5d} | {r:7.2f} {c:8.2f}"
        )
    mean = math.exp(sum(logs) / len(logs))
    cpu_mean = math.exp(sum(cpu_logs) / len(cpu_logs))
    winner, margin = ("granian", mean) if mean >= 1 else ("gunicorn", 1 / mean)
    print(
        f"winner: {winner}, {100 * (margin - 1):.0f}% more requests/s (geometric mean over "
        f"{len(common)} scenarios); CPU per request: gunicorn's / granian's = {cpu_mean:.2f}"
    )
    return {
        "winner": winner,
        "margin": margin,
        "granian_over_gunicorn": mean,
        "cpu_gunicorn_over_granian": cpu_mean,
    }


def code_version() -> str:
    """The git revision of the smmpanel package being measured, and where it is."""
    import smmpanel

    where = Path(smmpanel.__file__).resolve().parent.parent
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=where, capture_output=True, text=True, check=False
    )
    return f"{done.stdout.strip() or 'not a git checkout'} at {where}"


def start_pair(
    args: argparse.Namespace,
    kind: str,
    env: dict[str, str],
    bare_env: dict[str, str],
    tmp: Path,
    servers: list[Server],
) -> list[Server]:
    port = free_port()
    # cwd outside the repo: the WSGI servers put their cwd first on sys.path, and
    # smmpanel must come from where this interpreter finds it (PYTHONPATH first).
    pair = [
        Server(
            f"ours/{kind}",
            ours_argv(kind, port, args.workers, args.threads),
            port,
            env,
            tmp / f"ours-{kind}.log",
            cwd=tmp,
        )
    ]
    if not args.no_bare:
        port = free_port()
        pair.append(
            Server(
                f"bare/{kind}",
                bare_argv(kind, port, args.workers, args.threads),
                port,
                bare_env,
                tmp / f"bare-{kind}.log",
                cwd=BENCH_DIR,
            )
        )
    for srv in pair:
        servers.append(srv)
        srv.start()
    return pair


def report(args: argparse.Namespace, results: dict[str, dict[str, Row]]) -> dict[str, Any] | None:
    for kind, rows in results.items():
        print_table(kind, args, rows)
        for target, measured, met in targets(rows):
            print(f"  target {target:<28} {measured:>9}  {'PASS' if met else 'MISS'}")
    comparison = compare_servers(results)
    busy = [
        (kind, name) for kind, rows in results.items() for name, row in rows.items() if others_of(row) > BUSY
    ]
    if busy:
        print()
        print(
            f"NOTE: other processes used more than {BUSY:.0%} of the machine during "
            f"{len(busy)} measurement(s) (column 'others'): those figures are low and noisy; "
            "rerun on a quiet machine or with --rounds 3."
        )
    return comparison


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
    env.update(
        {
            "DATABASE_URL": args.database_url,
            "SMMPANEL_DATA_DIR": str(data_dir),
            "DJANGO_SETTINGS_MODULE": "smmpanel.settings",
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **seed.limiter_env(args.limiter, args.redis_url),
        }
    )
    bare_env = dict(
        env, PYTHONPATH=os.pathsep.join(p for p in (str(BENCH_DIR), env.get("PYTHONPATH", "")) if p)
    )
    servers: list[Server] = []
    results: dict[str, dict[str, Row]] = {}
    run_id = time.strftime("%Y%m%d%H%M%S")
    started = time.perf_counter()
    revision = code_version()
    print(
        f"smmpanel API bench {time.strftime('%Y-%m-%d %H:%M')}: code {revision}, "
        f"{os.cpu_count()} CPUs, {platform.python_implementation()} "
        f"{platform.python_version()}, servers {', '.join(kinds)}, {args.workers} workers x "
        f"{args.threads} threads, {args.requests} requests/scenario, {args.connections} "
        f"connections, {args.rounds} round(s), rate limiter {args.limiter}"
    )
    try:
        fixture = prepare_database(args, env, str(data_dir))
        probe = f"key={fixture.key}&action=balance"
        for kind in kinds:
            pair = start_pair(args, kind, env, bare_env, tmp, servers)
            for srv in pair:
                srv.wait_ready(probe)
            rows: dict[str, Row] = {}
            results[kind] = rows
            for name in args.scenario_names:
                rows[name] = measure(args, pair, sc.SCENARIOS[name], fixture, f"{run_id}-{kind}-{name}", tmp)
                print(progress_line(kind, name, rows[name]), flush=True)
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

    comparison = report(args, results)
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
        args.json.write_text(
            json.dumps(
                {
                    "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                    "cpus": os.cpu_count(),
                    "code": revision,
                    "limiter": args.limiter,
                    "argv": sys.argv[1:],
                    "workers": args.workers,
                    "threads": args.threads,
                    "rounds": args.rounds,
                    "connections": args.connections,
                    "requests": args.requests,
                    "results": results,
                    "comparison": comparison,
                    "errors": problems,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
