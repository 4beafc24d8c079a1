"""A small HTTP/1.1 load generator: N keep-alive connections, a fixed list of requests.

Pure stdlib (asyncio streams), so it runs where wrk does not exist. It is meant to
be run as its own process (bench/api.py does so) so that it does not share an
interpreter with the server under test:

    python bench/loadgen.py --port 8000 --path /api/v2 --bodies FILE --connections 32

FILE holds one urlencoded POST body per line. The first --warmup lines are sent
first and not measured; the rest are measured. Every request is prepared as
bytes before the clock starts, so the generator's own cost per request is one
write, two reads and a few comparisons.

Each response must be HTTP 200, contain every --expect string and none of the
--reject strings; anything else is an error, counted and sampled. The result is
one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import sys
import time
from dataclasses import dataclass, field

MAX_SAMPLES = 5


@dataclass
class Phase:
    """One pass over a list of prepared requests, shared by all connections."""

    requests: list[bytes]
    expect: list[bytes]
    reject: list[bytes]
    deadline: float
    next_index: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    received_bytes: int = 0
    truncated: bool = False

    def take(self) -> bytes | None:
        if self.next_index >= len(self.requests):
            return None
        if time.perf_counter() > self.deadline:
            self.truncated = True
            return None
        request = self.requests[self.next_index]
        self.next_index += 1
        return request

    def fail(self, kind: str, detail: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(f"{kind}: {detail[:300]}")


def build_requests(host: str, port: int, path: str, bodies: list[bytes]) -> list[bytes]:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Accept: application/json\r\nUser-Agent: smmpanel-bench\r\n"
    ).encode("ascii")
    return [head + b"Content-Length: %d\r\n\r\n" % len(body) + body for body in bodies]


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep-alive) of one HTTP/1.1 response."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, header_block = head.partition(b"\r\n")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ValueError(f"bad status line {status_line!r}")
    status = int(parts[1])
    length = -1
    chunked = False
    keep_alive = parts[0] == b"HTTP/1.1"
    for line in header_block.split(b"\r\n"):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            token = value.strip().lower()
            if token == b"close":
                keep_alive = False
            elif token == b"keep-alive":
                keep_alive = True
    if chunked:
        pieces = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers expected
                break
            pieces.append(await reader.readexactly(size))
            await reader.readexactly(2)
        return status, b"".join(pieces), keep_alive
    if length < 0:
        raise ValueError("response without Content-Length or chunked encoding")
    body = await reader.readexactly(length) if length else b""
    return status, body, keep_alive


class Connection:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def run(self, phase: Phase) -> None:
        perf = time.perf_counter
        while (request := phase.take()) is not None:
            started = perf()
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.wait_for(
                        asyncio.open_connection(self.host, self.port), self.timeout
                    )
                assert self.reader is not None
                self.writer.write(request)
                status, body, keep_alive = await asyncio.wait_for(read_response(self.reader), self.timeout)
            except (
                OSError,
                ValueError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                TimeoutError,
            ) as exc:
                phase.fail(type(exc).__name__, repr(exc))
                await self.close()
                continue
            phase.latencies.append(perf() - started)
            phase.received_bytes += len(body)
            if status != 200:
                phase.fail(f"HTTP {status}", body.decode("utf-8", "replace"))
            elif any(want not in body for want in phase.expect) or any(bad in body for bad in phase.reject):
                phase.fail("unexpected body", body.decode("utf-8", "replace"))
            if not keep_alive:
                await self.close()


async def run_phase(connections: list[Connection], phase: Phase) -> float:
    started = time.perf_counter()
    await asyncio.gather(*(conn.run(phase) for conn in connections))
    return time.perf_counter() - started


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of a sorted list (0 for an empty one)."""
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    with open(args.bodies, "rb") as handle:
        bodies = [line.rstrip(b"\n") for line in handle if line.strip()]
    warmup_bodies, bodies = bodies[: args.warmup], bodies[args.warmup :]
    build = build_requests
    warm = build(args.host, args.port, args.path, warmup_bodies)
    measured = build(args.host, args.port, args.path, bodies)
    expect = [s.encode() for s in args.expect]
    reject = [s.encode() for s in args.reject]
    connections = [Connection(args.host, args.port, args.timeout) for _ in range(args.connections)]
    try:
        if warm:
            warm_phase = Phase(warm, expect, reject, time.perf_counter() + args.max_seconds)
            await run_phase(connections, warm_phase)
        gc.collect()
        gc.disable()
        phase = Phase(measured, expect, reject, time.perf_counter() + args.max_seconds)
        cpu = time.process_time()
        elapsed = await run_phase(connections, phase)
        cpu = time.process_time() - cpu
        gc.enable()
    finally:
        await asyncio.gather(*(conn.close() for conn in connections))
    ordered = sorted(phase.latencies)
    done = len(ordered)
    result: dict[str, object] = {
        "requests": phase.next_index,
        "completed": done,
        "errors": phase.errors,
        "error_kinds": phase.error_kinds,
        "error_samples": phase.samples,
        "warmup_completed": len(warm_phase.latencies) if warm else 0,
        "warmup_errors": warm_phase.errors if warm else 0,
        "warmup_samples": warm_phase.samples if warm else [],
        "elapsed_s": round(elapsed, 4),
        "loadgen_cpu": round(cpu / elapsed, 2) if elapsed > 0 else 0.0,
        "rps": round(done / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": round(percentile(ordered, 50) * 1000, 2),
        "p90_ms": round(percentile(ordered, 90) * 1000, 2),
        "p99_ms": round(percentile(ordered, 99) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2) if ordered else 0.0,
        "mean_bytes": round(phase.received_bytes / done) if done else 0,
        "truncated": phase.truncated,
        "connections": args.connections,
    }
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/api/v2")
    parser.add_argument("--bodies", required=True, help="file: one urlencoded body per line")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=0, help="leading bodies not measured")
    parser.add_argument("--expect", action="append", default=[], help="must be in every body")
    parser.add_argument("--reject", action="append", default=[], help="must be in no body")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=120.0,
        help="stop handing out requests after this long (the result says truncated)",
    )
    args = parser.parse_args(argv)
    if args.host not in {"127.0.0.1", "localhost", "::1"}:
        parser.error("the load generator only sends traffic to the local machine")
    return args


def main() -> None:
    args = parse_args()
    result = asyncio.run(main_async(args))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
