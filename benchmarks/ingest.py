"""Ingest path: events/s and ack latency over HTTP vs the in-process ceiling, same rows.

    .venv/bin/python -m benchmarks.ingest [--senders 8] [--requests 40] [--batch 100]

HTTP: a real uvicorn server on 127.0.0.1 (SQLite default, WORKER_MODE=off), `--senders`
threads each POSTing `--requests` deliveries of `--batch` events to /webhooks/test over a
keep-alive connection. Ceiling: the same deliveries passed to `ingest_events` directly in this
process, on a fresh database of the same kind, once before and once after the HTTP run (this
machine's speed drifts by up to 2x within minutes; the ratio uses the mean of the two).
Prints both, their ratio and p50/p99 latency.
Targets (issue 2): ratio >= 0.5, p99 < 100 ms. It measures; it does not assert.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def create_bench_app():
    """uvicorn --factory target: the service as `roadmap-guard serve` builds it (settings from
    the env, the garbage collector tuned), without its migration step (done here beforehand)."""
    from app.main import create_app, tune_garbage_collector

    app = create_app()
    tune_garbage_collector(app.state.settings.gc_gen0_threshold)
    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _deliveries(prefix: str, senders: int, requests: int, batch: int) -> list[list[dict]]:
    """Per sender, its deliveries; deals repeat across events (several events per deal)."""
    out = []
    for s in range(senders):
        mine = []
        for r in range(requests):
            mine.append(
                [
                    {
                        "id": f"{prefix}-{s}-{r}-{e}",
                        "deal_id": f"D{(s * 7919 + r * batch + e) % 5000}",
                        "type": "deal.propertyChange",
                    }
                    for e in range(batch)
                ]
            )
        out.append(mine)
    return out


def _prepare_db(url: str) -> str:
    """Migrate and create an API key; returns the key."""
    from sqlmodel import Session

    from app.db import make_engine
    from app.migrate import upgrade_to_head
    from app.security import Role, create_api_key

    engine = make_engine(url)
    upgrade_to_head(engine)
    with Session(engine) as s:
        _, key = create_api_key(s, name="bench", role=Role.revops, created_by="bench")
        s.commit()
    engine.dispose()
    return key


def run_http(url: str, deliveries: list[list[dict]], workers: int) -> tuple[float, list[float]]:
    key = _prepare_db(url)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "WORKER_MODE": "off",
        "LOG_LEVEL": "WARNING",
        "INSTALL_DEFAULT_RULES": "false",
    }
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "benchmarks.ingest:create_bench_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--workers",
        str(workers),
    ]
    server = subprocess.Popen(cmd, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        bodies = [[json.dumps({"events": d}).encode() for d in mine] for mine in deliveries]
        # Warm-up: one delivery per sender that is not counted (import paths, caches).
        warm = http.client.HTTPConnection("127.0.0.1", port)
        warm.request(
            "POST",
            "/webhooks/test",
            json.dumps({"events": [{"id": "warm", "deal_id": "W", "type": "x"}]}),
            headers,
        )
        warm.getresponse().read()

        latencies: list[float] = []
        lock = threading.Lock()
        barrier = threading.Barrier(len(bodies) + 1)
        errors: list[str] = []

        def sender(mine: list[bytes]) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            local = []
            barrier.wait()
            for body in mine:
                t0 = time.perf_counter()
                conn.request("POST", "/webhooks/test", body, headers)
                response = conn.getresponse()
                response.read()
                local.append(time.perf_counter() - t0)
                if response.status != 200:
                    errors.append(str(response.status))
            with lock:
                latencies.extend(local)

        threads = [threading.Thread(target=sender, args=(mine,)) for mine in bodies]
        for t in threads:
            t.start()
        barrier.wait()
        started = time.perf_counter()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        if errors:
            raise SystemExit(f"{len(errors)} deliveries failed: {sorted(set(errors))}")
        return elapsed, latencies
    finally:
        server.terminate()
        server.wait(10)


def run_in_process(url: str, deliveries: list[list[dict]]) -> tuple[float, list[float]]:
    from app.db import make_engine
    from app.jobs.ingest import InboundEvent, ingest_events
    from app.migrate import upgrade_to_head

    engine = make_engine(url)
    upgrade_to_head(engine)
    batches = [
        [
            InboundEvent(
                source="test",
                dedup_key=ev["id"],
                crm="test",
                deal_id=ev["deal_id"],
                event_type=ev["type"],
                payload=ev,
            )
            for ev in delivery
        ]
        for mine in deliveries
        for delivery in mine
    ]
    ingest_events(engine, [InboundEvent("test", "warm", "test", "W")])
    per_call = []
    started = time.perf_counter()
    for batch in batches:
        t0 = time.perf_counter()
        ingest_events(engine, batch)
        per_call.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed, per_call


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--requests", type=int, default=40, help="deliveries per sender")
    parser.add_argument("--batch", type=int, default=100, help="events per delivery")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--keep", action="store_true", help="keep the temporary databases")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="rg-bench-"))
    deliveries = _deliveries("ev", args.senders, args.requests, args.batch)
    total = args.senders * args.requests * args.batch

    before_s, before_lat = run_in_process(f"sqlite:///{tmp / 'before.db'}", deliveries)
    http_s, http_lat = run_http(f"sqlite:///{tmp / 'http.db'}", deliveries, args.workers)
    after_s, after_lat = run_in_process(f"sqlite:///{tmp / 'after.db'}", deliveries)
    proc_s, proc_lat = (before_s + after_s) / 2, before_lat + after_lat

    http_rate, proc_rate = total / http_s, total / proc_s
    print(
        f"ingest benchmark: {args.senders} senders x {args.requests} deliveries x "
        f"{args.batch} events = {total} events, SQLite, uvicorn workers={args.workers}"
    )
    print(
        f"  HTTP /webhooks/test   {http_rate:>9.0f} events/s   ack p50 {_pct(http_lat, 0.5) * 1000:6.1f} ms"
        f"   p99 {_pct(http_lat, 0.99) * 1000:6.1f} ms   max {max(http_lat) * 1000:6.1f} ms"
    )
    print(
        f"  in-process ingest     {proc_rate:>9.0f} events/s   call p50 {_pct(proc_lat, 0.5) * 1000:5.1f} ms"
        f"   p99 {_pct(proc_lat, 0.99) * 1000:6.1f} ms   (before HTTP {total / before_s:.0f}, "
        f"after {total / after_s:.0f} events/s)"
    )
    print(
        f"  ratio HTTP / in-process = {http_rate / proc_rate:.2f}   (target >= 0.5, p99 < 100 ms)"
    )
    print(
        f"  median per-delivery: HTTP {statistics.median(http_lat) * 1000:.1f} ms, "
        f"in-process {statistics.median(proc_lat) * 1000:.1f} ms"
    )
    if not args.keep:
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
