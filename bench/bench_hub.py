"""Benchmark: CONTRACT.md's query directly against one site and through the hub with 1, 3 and 10 sites.

Sites run in one process (N native site adapters over one demo store, each under its own name),
the hub in another (`mxhub hub serve`), the client here; all on loopback. Reports, each beside its
anchor measured in the same run (issue 17: absolute times move with the machine's load, ratios hold
better):
- p50/p95 of a page of 100 direct to one site and through the hub (anchor: `{ __typename }` at a site);
- the hub-added latency: the client's time through the hub minus the time the hub spent waiting for sites
  (`extensions.siteWaitMs`): HTTP in and out, planning, merging, encoding (anchor: `{ __typename }` at the
  hub, the least a hub request can cost);
- small pages (first: 5) through the hub, 16 concurrent: requests/s as the client saw them, and per core
  of the hub process alone (requests / the hub process's own CPU seconds, from /proc), so that the sites
  sharing the machine do not count against the hub; anchor: `{ __typename }` at the hub the same way;
- p99 with a site that takes 2 s.
`--profile DIR` records the hub process with py-spy (if installed), one flame graph per phase.
Usage: python bench/bench_hub.py [--runs N] [--collections N] [--sites 1,3] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import fmt, native_demo_store, percentiles  # noqa: E402
from mx_schema.examples import CONTRACT_QUERY  # noqa: E402
from mxhub.embedded import with_database  # noqa: E402

SMALL = "{ dataCollections(first: 5) { edges { node { id localId } } } }"


def serve_sites(dsn: str, names: list[str], slow: list[str], ports_file: str) -> None:
    """Child process: serve one site app per name; the `slow` ones answer GraphQL 2 s late."""
    from mxhub.serve import Served, serve_all
    from site_adapter.app import create_app
    from site_adapter.backends.native import NativeBackend

    class Slow:
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http" and scope["path"] == "/graphql":
                await asyncio.sleep(2.0)
            await self.app(scope, receive, send)

    async def run():
        services = []
        for name in names:
            app = create_app(NativeBackend(dsn, min_size=1, max_size=3), site=name)
            services.append(Served(name, Slow(app) if name in slow else app).bind())

        async def started():
            Path(ports_file).write_text(json.dumps({s.name: s.url for s in services}))

        await serve_all(services, on_started=started)

    asyncio.run(run())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not path.exists() or not path.read_text():
        if proc.poll() is not None or time.monotonic() > end:
            raise SystemExit("a bench server did not start")
        await asyncio.sleep(0.1)


async def prepare(collections: int, store: str | None = None) -> tuple[str, str]:
    return await native_demo_store(store or f"mxhub_bench_hub_{collections}", collections)


async def timed(client: httpx.AsyncClient, url: str, query: str, variables: dict) -> tuple[float, dict]:
    t = time.perf_counter()
    r = await client.post(url, json={"query": query, "variables": variables})
    ms = (time.perf_counter() - t) * 1000
    body = r.json()
    if body.get("errors") and not body.get("data"):
        raise SystemExit(f"query failed: {body['errors'][:2]}")
    return ms, body


async def register_all(client: httpx.AsyncClient, hub_url: str, urls: dict[str, str]) -> None:
    for name, url in urls.items():
        r = await client.post(
            hub_url,
            headers={"authorization": "Bearer bench"},
            json={
                "query": "mutation($n: String!, $u: String!) { registerSite(name: $n, url: $u) { name } }",
                "variables": {"n": name, "u": url + "/graphql"},
            },
        )
        if "errors" in r.json():
            raise SystemExit(f"registration failed: {r.json()['errors']}")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process `pid` so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Profile:
    """py-spy recording the hub process for one phase (nothing when no directory is given)."""

    def __init__(self, directory: str | None, pid: int, name: str) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        if directory is None:
            return
        Path(directory).mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(pid),
                "--rate",
                "250",
                "--nonblocking",
                "--format",
                "raw",
                "-o",
                str(Path(directory) / f"{name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)  # py-spy attaches before the phase starts

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            self.proc.wait(timeout=30)


def ratio(figure: dict[str, float], anchor: dict[str, float]) -> str:
    """A figure as a multiple of its anchor from the same run (issue 17: absolute times move ±30 % with
    the machine's load; ratios hold better)."""
    return f"p50 {figure['p50'] / anchor['p50']:.1f}x p95 {figure['p95'] / anchor['p95']:.1f}x"


async def throughput(
    client: httpx.AsyncClient, hub_url: str, hub_pid: int, query: str, total: int
) -> tuple[float, float]:
    """`total` requests of `query`, 16 concurrent: (requests/s the client saw, requests per CPU second of
    the hub process alone)."""
    sem = asyncio.Semaphore(16)

    async def one():
        async with sem:
            await timed(client, hub_url, query, {})

    cpu = cpu_seconds(hub_pid)
    t = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(total)))
    rate = total / (time.perf_counter() - t)
    return rate, total / max(1e-9, cpu_seconds(hub_pid) - cpu)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


async def scenario(
    n_sites: int, slow: int, dsn: str, server: str, runs: int, out: list[str], profile: str | None = None
) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="mxhub-bench-"))
    names = [f"site{i:02d}" for i in range(n_sites)] + [f"slow{i}" for i in range(slow)]
    ports_file = tmp / "ports.json"
    sites = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve-sites",
            ",".join(names),
            "--slow",
            ",".join(n for n in names if n.startswith("slow")),
            "--dsn",
            dsn,
            "--ports-file",
            str(ports_file),
        ],
        cwd=ROOT,
    )
    hub_port = free_port()
    hub_db = f"mxhub_bench_registry_{os.getpid()}_{n_sites}_{slow}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'DROP DATABASE IF EXISTS "{hub_db}"')
    await admin.execute(f'CREATE DATABASE "{hub_db}"')
    await admin.close()
    hub = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mxhub",
            "hub",
            "serve",
            "--dsn",
            with_database(server, hub_db),
            "--port",
            str(hub_port),
            # Rate limiting is on, as in production, but far above what the bench sends.
            "--rate-limit",
            "10000000",
            "--soft-deadline",
            "0.5",
            "--health-interval",
            "0",
        ],
        cwd=ROOT,
        env={**os.environ, "MXHUB_ADMIN_TOKEN": "bench"},
    )
    try:
        await wait_for(ports_file, sites)
        urls = json.loads(ports_file.read_text())
        hub_url = f"http://127.0.0.1:{hub_port}/graphql"
        async with httpx.AsyncClient(timeout=30) as client:
            for _ in range(100):
                try:
                    await client.get(f"http://127.0.0.1:{hub_port}/health")
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
            await register_all(client, hub_url, urls)
            variables = {"first": 100}
            for _ in range(5):
                await timed(client, hub_url, CONTRACT_QUERY, variables)
                await timed(client, urls["site00"] + "/graphql", CONTRACT_QUERY, variables)
            for _ in range(5):
                await timed(client, hub_url, "{ __typename }", {})
            tag = f"{n_sites}{'s' if slow else ''}"
            prof = Profile(profile, hub.pid, f"page100-{tag}")
            direct, through, added, trivial, hub_trivial, executing = [], [], [], [], [], []
            for _ in range(runs):  # interleaved, so that a change of load moves figure and anchors alike
                ms, _ = await timed(client, urls["site00"] + "/graphql", "{ __typename }", {})
                trivial.append(ms)
                ms, _ = await timed(client, hub_url, "{ __typename }", {})
                hub_trivial.append(ms)
                ms, _ = await timed(client, urls["site00"] + "/graphql", CONTRACT_QUERY, variables)
                direct.append(ms)
                ms, body = await timed(client, hub_url, CONTRACT_QUERY, variables)
                through.append(ms)
                added.append(ms - body["extensions"]["siteWaitMs"])
                executing.append(body["extensions"]["ms"] - body["extensions"]["siteWaitMs"])
            prof.stop()
            label = f"{n_sites} site(s){' + 1 slow (2 s)' if slow else ''}, 100-item pages ({load()})"
            p_trivial, p_direct, p_hub_trivial = (
                percentiles(trivial),
                percentiles(direct),
                percentiles(hub_trivial),
            )
            p_through, p_added, p_exec = percentiles(through), percentiles(added), percentiles(executing)
            out.append(
                f"{label}\n  {{ __typename }} at a site {fmt(p_trivial)}  (anchor)\n"
                f"  {{ __typename }} at hub  {fmt(p_hub_trivial)}  (anchor)\n"
                f"  direct to one site   {fmt(p_direct)}  {ratio(p_direct, p_trivial)} the site anchor\n"
                f"  through the hub      {fmt(p_through)}  {ratio(p_through, p_direct)} direct\n"
                f"  hub-added            {fmt(p_added)}  {ratio(p_added, p_hub_trivial)} the hub anchor\n"
                f"    of which executing {fmt(p_exec)}  (extensions.ms - siteWaitMs: planning, merging, "
                "completing; the rest is HTTP in and out and encoding)"
            )
            if not slow:
                total = max(1000, runs * 10)
                await throughput(client, hub_url, hub.pid, SMALL, 32)  # warm: connections to every site
                anchor_rate, anchor_cpu = await throughput(client, hub_url, hub.pid, "{ __typename }", total)
                prof = Profile(profile, hub.pid, f"small-{tag}")
                rate, per_cpu = await throughput(client, hub_url, hub.pid, SMALL, total)
                prof.stop()
                out.append(
                    f"  small pages (first: 5), 16 concurrent, {total} requests ({load()}):\n"
                    f"    {{ __typename }} at hub  {anchor_rate:7,.0f} requests/s, {anchor_cpu:7,.0f} per hub "
                    "CPU second  (anchor)\n"
                    f"    small pages          {rate:7,.0f} requests/s, {per_cpu:7,.0f} per hub CPU second"
                    f"  = {per_cpu / anchor_cpu:.2f}x the anchor  (hub and sites sharing {os.cpu_count()} cores)"
                )
    finally:
        for p in (hub, sites):
            p.send_signal(signal.SIGTERM)
        for p in (hub, sites):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        admin = await asyncpg.connect(server)
        await admin.execute(f'DROP DATABASE IF EXISTS "{hub_db}" WITH (FORCE)')
        await admin.close()


async def main_async(args: argparse.Namespace) -> None:
    dsn, server = await prepare(args.collections, args.store)
    out: list[str] = []
    scenarios = ((1, 0), (3, 0), (10, 0), (3, 1))
    if args.sites:
        wanted = {int(n) for n in args.sites.split(",")}
        scenarios = tuple(s for s in scenarios if s[0] in wanted and not s[1])
    for n_sites, slow in scenarios:
        await scenario(n_sites, slow, dsn, server, args.runs, out, args.profile)
        print(out[-1] if slow else "\n".join(out[-2:]), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--collections", type=int, default=20000)
    ap.add_argument(
        "--store", help="the demo store's database name (e.g. bench_site.py's mxhub_bench_site_N)"
    )
    ap.add_argument("--sites", help="only these site counts, without the slow-site run (e.g. 1,3)")
    ap.add_argument("--profile", help="record the hub process with py-spy into this directory, per phase")
    ap.add_argument("--serve-sites", help=argparse.SUPPRESS)
    ap.add_argument("--slow", default="", help=argparse.SUPPRESS)
    ap.add_argument("--dsn", help=argparse.SUPPRESS)
    ap.add_argument("--ports-file", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_sites:
        serve_sites(
            args.dsn, args.serve_sites.split(","), [s for s in args.slow.split(",") if s], args.ports_file
        )
        return
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
