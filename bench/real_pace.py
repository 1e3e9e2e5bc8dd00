"""Streams at a real pace: generator CPU per SSE event and streams per core.

Against `loadtest mock --ttft 1s --itl 50ms` (pinned to its own core), each
client holds N concurrent streams of 128 tokens (132 SSE events: role,
128 content chunks, finish, usage, `[DONE]`), so every event arrives on its
own, 50 ms after the last one of its stream. Two measures:

- **CPU per event** (`--streams`, 500): ours (the real CLI), trio+h11, aiohttp
  and Locust FastHttpUser (its own venv, bench/.venv-locust, made by this
  script with pip), and `epoll-floor` (bench/clients/epoll_floor.py: one
  epoll, no event loop, no timestamps: the floor of a Python client), one at a
  time on the client core, interleaved in each round. CPU is user+sys of the
  client process from `os.wait4`; the start-up baseline (ours: one stream; the
  others: `--duration 0`) is subtracted, CPU and streams alike, and the rest
  is divided by 132 events per stream. Every stream runs to its end (ours: a
  graceful stop longer than a stream), so every event counted was read.
- **Ceiling** (`--ceiling`): the largest number of concurrent streams ours
  holds on one core with the health verdict `ok` and the measured ITL p50
  within 1 ms of the mock's 50 ms: a doubling search, then a bisection to
  `--ceiling-step`. `--start-spread 1s` runs ours with that `start_spread`
  (VUs started over 1 s instead of all at once).

    .venv/bin/python bench/real_pace.py                      # 3 rounds, ~6 min
    .venv/bin/python bench/real_pace.py --ceiling --rounds 0 # the ceiling only
    .venv/bin/python bench/real_pace.py --help

Figures and conditions: bench/README.md. Raw figures go to
bench/out/real_pace-<UTC>.json (gitignored).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_cpu import (
    CLIENT_SCRIPTS,
    OUT_DIR,
    ROOT,
    BenchError,
    capture_request,
    derived_profile,
    ensure_aiohttp,
    ensure_nginx,
    ours_command,
    reap,
    running_nginx,
    spawn,
    stop,
    stop_all,
)

EVENTS_PER_STREAM = 132
TOKENS = 128
MOCK_ITL_MS = 50.0
LOCUST_VENV = ROOT / "bench" / ".venv-locust"
LOCUST_FILE = ROOT / "bench" / "clients" / "locust_fasthttp.py"
CLIENTS = ("ours", "before", "trio+h11", "aiohttp", "locust", "epoll-floor")
#: The floor of a Python client: one epoll, no loop, no timestamps (see the script).
FLOOR_SCRIPT = ROOT / "bench" / "clients" / "epoll_floor.py"
#: Clients that are loadtest itself (the CLI; "before" from --before's tree).
OURS = ("ours", "before")
#: Goal: ours at most this many µs of CPU per event at a real pace.
GOAL_US_PER_EVENT = 12.0
#: Goal: streams per core with a healthy verdict and ITL p50 within 1 ms.
GOAL_CEILING = 2500


def ensure_locust(install: bool) -> Path:
    locust = LOCUST_VENV / "bin" / "locust"
    if locust.exists():
        return locust
    if not install:
        raise BenchError(f"{locust} missing (run without --no-install)")
    subprocess.run([sys.executable, "-m", "venv", str(LOCUST_VENV)], check=True)
    pip = LOCUST_VENV / "bin" / "pip"
    subprocess.run([str(pip), "install", "-q", "locust", "orjson"], check=True)
    return locust


class Mock:
    """`loadtest mock` pinned to a core; its base URL."""

    def __init__(self, core: int, ttft: str, itl: str) -> None:
        exe = Path(sys.executable).with_name("loadtest")
        cmd = [str(exe), "mock", "--port", "0", "--ttft", ttft, "--itl", itl]
        self.proc = spawn(cmd, core, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().decode().strip()
        if not self.url.startswith("http://"):
            raise BenchError("loadtest mock did not print its URL")

    def close(self) -> None:
        stop(self.proc)


class Runner:
    """Runs one client at a time against `endpoint` (the chat completions URL);
    ours is given `target` (what --target takes)."""

    def __init__(self, args: argparse.Namespace, workdir: Path, target: str, endpoint: str) -> None:
        self.args = args
        self.workdir = workdir
        self.target = target
        self.profile = derived_profile("stream", workdir, {"graceful_stop": "30s"})
        data = json.loads(self.profile.read_text())
        data["defaults"]["headers"] = {"Authorization": "Bearer bench"}
        self.profile.write_text(json.dumps(data))
        self.before_profile = workdir / "profile-before.json"
        self.before_profile.write_text(json.dumps(data))
        if args.start_spread:
            data["start_spread"] = args.start_spread
            self.profile.write_text(json.dumps(data))
        spec = capture_request(self.profile, "/v1/chat/completions", workdir)
        self.request = workdir / "request.json"
        request = {"url": endpoint, **spec}
        request.pop("path")
        self.request.write_text(json.dumps(request))
        self._runs = 0

    def command(self, client: str, streams: int, duration_s: float, out: Path) -> list[str]:
        if client in OURS:
            stages = f"{streams}:{duration_s:g}s" if duration_s else "1:1ms"
            profile = self.profile if client == "ours" else self.before_profile
            cmd = ours_command(profile, self.target, stages, out)
            return [*cmd, "--no-preflight"]
        if client == "locust":
            return [
                str(LOCUST_VENV / "bin" / "locust"),
                *("-f", str(LOCUST_FILE), "--headless", "--only-summary"),
                *("-u", str(streams), "-r", str(streams)),
                *("-t", f"{max(round(duration_s), 1)}s", "--stop-timeout", "30"),
                *("--loglevel", "ERROR"),
            ]
        script = FLOOR_SCRIPT if client == "epoll-floor" else CLIENT_SCRIPTS[client]
        cmd = [sys.executable, str(script), "--request", str(self.request)]
        return [*cmd, "--connections", str(streams), "--duration", f"{duration_s:g}", "--stream"]

    def run(self, client: str, streams: int, duration_s: float) -> dict[str, Any]:
        self._runs += 1
        out = self.workdir / f"run-{self._runs}"
        out.mkdir()
        env = {**os.environ, "BENCH_REQUEST": str(self.request)}
        if client == "before":
            env["PYTHONPATH"] = str(self.args.before)
        with open(out / "stdout", "wb") as so, open(out / "stderr", "wb") as se:
            started = time.monotonic()
            proc = subprocess.Popen(
                [
                    "taskset",
                    "-c",
                    str(self.args.client_core),
                    *self.command(client, streams, duration_s, out),
                ],
                stdin=subprocess.DEVNULL,
                stdout=so,
                stderr=se,
                env=env,
                start_new_session=True,
            )
            code, cpu_s = reap(proc)
        result: dict[str, Any] = {
            "client": client,
            "streams": streams,
            "duration_s": duration_s,
            "exit_code": code,
            "cpu_s": round(cpu_s, 4),
            "wall_s": round(time.monotonic() - started, 2),
            "loadavg_1m": round(os.getloadavg()[0], 2),
        }
        result.update(self._counts(client, code, out))
        shutil.rmtree(out, ignore_errors=True)
        return result

    @staticmethod
    def _counts(client: str, code: int, out: Path) -> dict[str, Any]:
        stderr = (out / "stderr").read_text(errors="replace").strip()
        if client in OURS:
            summaries = sorted(out.glob("summary-*.json"))
            if not summaries:
                raise BenchError(f"loadtest run failed (exit {code}): {stderr[-800:]}")
            stage = json.loads(summaries[-1].read_text())["stages"][0]
            total = stage["total"]
            itl = total.get("itl_ms") or {}
            return {
                "completed": total["ok"],
                "errors": total["failed"] + total["interrupted"],
                "verdict": stage["health"]["verdict"],
                "reasons": stage["health"]["reasons"],
                "loop_lag_p99_ms": stage["health"]["figures"]["loop_lag_p99_ms"],
                "cpu_share": stage["health"]["figures"]["cpu_share"],
                "itl_p50_ms": itl.get("p50"),
                "itl_p99_ms": itl.get("p99"),
                "ttft_p50_ms": (total.get("ttft_ms") or {}).get("p50"),
            }
        lines = [x for x in (out / "stdout").read_text().splitlines() if x.startswith("{")]
        if not lines:
            raise BenchError(f"{client} client failed (exit {code}): {stderr[-800:]}")
        report = json.loads(lines[-1])
        if report["content_deltas"] != report["completed"] * TOKENS:
            report["errors"] = max(report["errors"], 1)
        return {"completed": report["completed"], "errors": report["errors"]}


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def per_event(runs: list[dict[str, Any]], bases: list[dict[str, Any]]) -> list[float]:
    base_cpu = _median([b["cpu_s"] for b in bases])
    base_done = _median([b["completed"] for b in bases])
    return [
        (r["cpu_s"] - base_cpu) / ((r["completed"] - base_done) * EVENTS_PER_STREAM) * 1e6
        for r in runs
    ]


def measure_cpu(runner: Runner, args: argparse.Namespace) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in args.clients}
    bases: dict[str, list[dict[str, Any]]] = {c: [] for c in args.clients}
    for n in range(args.rounds):
        for client in args.clients:
            run = runner.run(client, args.streams, args.duration)
            base = runner.run(client, 1, 0)
            runs[client].append(run)
            bases[client].append(base)
            print(
                f"  round {n + 1} {client:9s} cpu {run['cpu_s']:.2f}s streams {run['completed']}"
                f" errors {run['errors']} (baseline {base['cpu_s']:.2f}s/{base['completed']})",
                flush=True,
            )
    figures: dict[str, Any] = {}
    for client in args.clients:
        us = per_event(runs[client], bases[client])
        med = _median(us)
        figures[client] = {
            "us_per_event": [round(x, 2) for x in us],
            "median": round(med, 2),
            "spread": round((max(us) - min(us)) / med, 3) if med else None,
        }
    print(f"\n== real pace: {args.streams} streams, TTFT 1 s, ITL 50 ms; CPU µs per SSE event")
    print(
        f"{'client':10s} "
        + " ".join(f"round {i + 1:<3d}" for i in range(args.rounds))
        + "   median  spread"
    )
    for client in args.clients:
        f = figures[client]
        cells = " ".join(f"{x:9.1f}" for x in f["us_per_event"])
        print(f"{client:10s} {cells}  {f['median']:7.1f}  {f['spread'] * 100:5.0f}%")
    if "ours" in figures:
        ours = figures["ours"]["median"]
        for client in args.clients:
            if client != "ours":
                ratio = ours / figures[client]["median"]
                print(f"  ours/{client:9s} {ratio:.2f}x")
        met = "met" if ours <= GOAL_US_PER_EVENT else "MISSED"
        print(f"  goal ours <= {GOAL_US_PER_EVENT:g} µs per event: {met} ({ours:.1f})")
        extra = runs["ours"]
        print(
            "  ours' health per round: "
            + ", ".join(
                f"{r['verdict']} (lag p99 {r['loop_lag_p99_ms']} ms, ITL p50 {r['itl_p50_ms']})"
                for r in extra
            )
        )
    return {"runs": runs, "baselines": bases, "figures": figures}


def healthy(run: dict[str, Any]) -> bool:
    itl = run.get("itl_p50_ms")
    return (
        run["verdict"] == "ok"
        and run["errors"] == 0
        and itl is not None
        and abs(itl - MOCK_ITL_MS) <= 1.0
    )


def ceiling(runner: Runner, args: argparse.Namespace, client: str = "ours") -> dict[str, Any]:
    tried: list[dict[str, Any]] = []

    def probe(n: int) -> bool:
        run = runner.run(client, n, args.ceiling_duration)
        tried.append(run)
        ok = healthy(run)
        print(
            f"  {n:6d} streams: {run['verdict']:8s} lag p99 {run['loop_lag_p99_ms']} ms,"
            f" ITL p50 {run['itl_p50_ms']} ms, CPU {run['cpu_share']:.0%},"
            f" errors {run['errors']} -> {'ok' if ok else 'no'}",
            flush=True,
        )
        return ok

    print(
        f"\n== ceiling ({client}): streams per core, verdict ok and ITL p50 within 1 ms"
        f" of {MOCK_ITL_MS:g}"
    )
    low, high = 0, args.ceiling_start
    while probe(high):
        low, high = high, high * 2
        if high > args.ceiling_max:
            break
    while high - low > args.ceiling_step:
        mid = (low + high) // 2
        if probe(mid):
            low = mid
        else:
            high = mid
    met = "met" if low >= GOAL_CEILING else "MISSED"
    print(f"  ceiling: {low} streams (first failure at {high}); goal >= {GOAL_CEILING}: {met}")
    return {"ceiling": low, "first_failure": high, "tried": tried}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=500, help="concurrent streams (500)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of load (15)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of all clients (3)")
    parser.add_argument(
        "--clients",
        default="ours,trio+h11,aiohttp,locust",
        help=f"comma-separated, of {', '.join(CLIENTS)}",
    )
    parser.add_argument("--ceiling", action="store_true", help="also search the ceiling")
    parser.add_argument("--ceiling-start", type=int, default=1000)
    parser.add_argument("--ceiling-max", type=int, default=8000)
    parser.add_argument("--ceiling-step", type=int, default=250)
    parser.add_argument("--ceiling-duration", type=float, default=20.0)
    parser.add_argument(
        "--upstream",
        choices=("mock", "nginx"),
        default="mock",
        help="mock: `loadtest mock --ttft 1s --itl 50ms` (default); nginx: the same events at"
        " the same pace from nginx's echo module (bench/nginx), which one core serves for far"
        " more streams than the mock: for a ceiling above what the mock's core holds",
    )
    parser.add_argument("--client-core", type=int, default=0)
    parser.add_argument("--server-core", type=int, default=1)
    parser.add_argument(
        "--start-spread",
        help="ours: the profile's start_spread (e.g. 1s); default: the profile's default",
    )
    parser.add_argument(
        "--before",
        type=Path,
        help='a source tree of loadtest (git archive of an older commit): client "before" runs'
        " the CLI with PYTHONPATH=BEFORE, side by side with ours",
    )
    parser.add_argument("--ceiling-clients", default="ours", help="ours and/or before")
    parser.add_argument("--no-install", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    args.clients = [c for c in args.clients.split(",") if c]
    args.ceiling_clients = [c for c in args.ceiling_clients.split(",") if c]
    if "before" in args.clients + args.ceiling_clients and args.before is None:
        parser.error('client "before" needs --before DIR')
    if set(args.ceiling_clients) - set(OURS):
        parser.error("--ceiling-clients: ours and/or before")
    unknown = set(args.clients) - set(CLIENTS)
    if unknown:
        parser.error(f"unknown client(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    try:
        if "aiohttp" in args.clients:
            ensure_aiohttp(not args.no_install)
        if "locust" in args.clients:
            ensure_locust(not args.no_install)
        result: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
        with contextlib.ExitStack() as stack:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="real_pace-")))
            if args.upstream == "nginx":
                nginx = ensure_nginx(not args.no_install)
                port = stack.enter_context(running_nginx(nginx, tmp, 0, args.server_core))
                endpoint = f"http://127.0.0.1:{port}/paced/v1/chat/completions"
                target, upstream = endpoint, f"nginx {endpoint}"
            else:
                mock = Mock(args.server_core, "1s", f"{MOCK_ITL_MS:g}ms")
                stack.callback(mock.close)
                target, endpoint = f"{mock.url}/v1", f"{mock.url}/v1/chat/completions"
                upstream = f"mock {mock.url}"
            runner = Runner(args, tmp, target, endpoint)
            print(
                f"real_pace: clients on core {args.client_core}, {upstream} on core"
                f" {args.server_core}, load average {os.getloadavg()[0]:.2f}",
                flush=True,
            )
            if args.rounds:
                result["cpu"] = measure_cpu(runner, args)
            if args.ceiling:
                result["ceiling"] = {c: ceiling(runner, args, c) for c in args.ceiling_clients}
    except BenchError as exc:
        print(f"real_pace: {exc}", file=sys.stderr)
        return 1
    finally:
        stop_all()
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.json or OUT_DIR / f"real_pace-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    print(f"figures: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
