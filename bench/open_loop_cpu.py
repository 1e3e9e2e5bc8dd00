"""CPU per turn of loadtest's open loop against its closed loop at the same load.

What it measures: generator CPU (user + sys) per completed turn of an
open-loop stage `@R:Ds` and of a closed-loop stage `N:Ds` that makes the
same rate R, against the same upstream, with the same connections. The
goal: open loop <= 1.1x closed loop per turn.

The upstream is `loadtest mock --ttft T` (default 50 ms) pinned to the
server core: every non-streamed answer comes T after its request, so N
closed VUs make about N / T turns per second and hold N connections, and
an open stage at that rate holds about as many turns (and connections) in
flight. R is measured once, at start-up, by a closed stage of the current
code (`--rate` gives it instead), and every open stage of every client
runs `@R`, so all runs do the same work per second. Keep R well under
what the generator and the mock sustain: at 20 ms and 64 VUs (~2,500/s
here) the open stage ran away on a busy machine (a stall makes a burst of
arrivals, each burst opens connections, up to max_in_flight in flight),
which measures the overload, not the cost per turn.

The closed stage runs twice: VUs started together ("closed", the default
`start_spread` 0s) and started over one answer's time ("spread",
`start_spread` = T), whose answers come spread out as the open stage's do.

Clients, pinned to the client core, the real CLI on a copy of
profiles/perf-128-nonstream.json (warm-up 0s, graceful stop 2s,
max_in_flight 2000, `--quiet`): **ours** (this tree) and **before** (the
CLI of an older source tree, `--before DIR`, run with PYTHONPATH=DIR).
In each round every client runs closed then open, interleaved, plus a
start-up baseline (`1:1ms`, one turn) per client and round; the median
baseline is subtracted, CPU and turns alike, as bench/engine_cpu.py does:

    CPU per turn = (CPU(run) - CPU(baseline)) / (turns(run) - turns(baseline))

turns = requests + warm-up turns + interrupted of the summary's stage.
Figures are medians over --rounds; the ratio open/closed is taken per
client from those medians (and per round, printed too). Also per turn,
baseline subtracted the same way: system CPU (`sys`, µs) and voluntary
context switches (`sleeps`: how often the process went idle and woke).

Run (as root, on a machine with at least two cores; ~4 minutes by default):

    .venv/bin/python bench/open_loop_cpu.py
    git archive main | tar -x -C /tmp/old && \\
      .venv/bin/python bench/open_loop_cpu.py --before /tmp/old   # old and new side by side

Results: a table on stdout and the same figures in
bench/out/open_loop_cpu-<UTC>.json. Findings: bench/README.md ("Open loop").
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# bench/ is sys.path[0] when this file runs as a script.
import engine_cpu as ec

GOAL = 1.1  # open / closed CPU per turn, at most
#: closed: VUs started together; spread: started over one answer's time
#: (start_spread); open: arrivals at the closed stage's rate.
KINDS = ("closed", "spread", "open")


def start_mock(args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], str]:
    """`loadtest mock --port 0 --ttft T` on the server core; (process, base URL)."""
    loadtest = Path(sys.executable).with_name("loadtest")
    cmd = [str(loadtest), "mock", "--port", "0", "--ttft", args.ttft]
    proc = ec.spawn(cmd, args.server_core, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode().strip()
    if not line.startswith("http://"):
        ec.stop(proc)
        raise ec.BenchError(f"loadtest mock did not print its URL (got {line!r})")
    return proc, line


def run_ours(
    args: argparse.Namespace, client: str, profile: Path, url: str, stages: str, workdir: Path
) -> dict[str, Any]:
    """One `loadtest run` of `client`, pinned: its CPU and the stage's figures."""
    out = Path(tempfile.mkdtemp(prefix="run-", dir=workdir))
    cmd = ec.ours_command(profile, f"{url}/v1/chat/completions", stages, out)
    env = {**os.environ, "PYTHONPATH": str(args.before)} if client == "before" else None
    load_before = os.getloadavg()[0]
    with open(out / "stderr", "wb") as stderr:
        proc = ec.spawn(cmd, args.client_core, stderr=stderr, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    ec._LIVE.pop(proc.pid, None)
    cpu_s = usage.ru_utime + usage.ru_stime
    summaries = sorted(out.glob("summary-*.json"))
    if code not in (0, 5) or not summaries:
        text = (out / "stderr").read_text(errors="replace").strip()
        raise ec.BenchError(f"{client}: loadtest run {stages} failed (exit {code}): {text[-800:]}")
    stage = json.loads(summaries[-1].read_text())["stages"][0]
    shutil.rmtree(out, ignore_errors=True)
    total, figures = stage["total"], stage["health"]["figures"]
    return {
        "client": client,
        "stages": stages,
        "turns": total["requests"] + total["warmup_turns"] + total["interrupted"],
        "failed": total["failed"],
        "dropped": total["dropped"],
        "throughput_rps": total["throughput_rps"],
        "schedule_lag_p99_ms": total["schedule_lag_ms"]["p99"],
        "peak_in_flight": figures["peak_in_flight"],
        "cpu_share": figures["cpu_share"],
        "verdict": stage["health"]["verdict"],
        "cpu_s": round(cpu_s, 4),
        "user_s": round(usage.ru_utime, 4),
        "sys_s": round(usage.ru_stime, 4),
        # Voluntary context switches: how often the process slept and woke.
        "sleeps": usage.ru_nvcsw,
        "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def per_turn_us(run: dict[str, Any], base_cpu_s: float, base_turns: float) -> float:
    done = run["turns"] - base_turns
    return (run["cpu_s"] - base_cpu_s) / done * 1e6 if done > 0 else float("nan")


def compute(runs: list[dict[str, Any]], clients: list[str]) -> dict[str, Any]:
    """Per client: CPU µs per turn of each round (baseline subtracted), medians, ratio."""
    result: dict[str, Any] = {}
    for client in clients:
        mine = [r for r in runs if r["client"] == client]
        base = [r for r in mine if r["kind"] == "baseline"]
        base_cpu = statistics.median(r["cpu_s"] for r in base)
        base_turns = statistics.median(r["turns"] for r in base)
        row: dict[str, Any] = {"baseline_cpu_s": base_cpu, "baseline_turns": base_turns}
        for kind in KINDS:
            group = [r for r in mine if r["kind"] == kind]
            us = [round(per_turn_us(r, base_cpu, base_turns), 1) for r in group]
            base_sleeps = statistics.median(r["sleeps"] for r in base)
            base_sys = statistics.median(r["sys_s"] for r in base)
            sleeps = [(r["sleeps"] - base_sleeps) / (r["turns"] - base_turns) for r in group]
            sys_us = [(r["sys_s"] - base_sys) / (r["turns"] - base_turns) * 1e6 for r in group]
            row[kind] = {
                "cpu_us_per_turn": us,
                "median_us": statistics.median(us),
                "sleeps_per_turn": round(statistics.median(sleeps), 3),
                "sys_us_per_turn": round(statistics.median(sys_us), 1),
                "turns_per_s": statistics.median(r["throughput_rps"] for r in group),
                "peak_in_flight": statistics.median(r["peak_in_flight"] for r in group),
                "cpu_share": statistics.median(r["cpu_share"] for r in group),
                "verdicts": [r["verdict"] for r in group],
            }
        for closed in ("closed", "spread"):
            row[f"open/{closed}"] = round(row["open"]["median_us"] / row[closed]["median_us"], 3)
            row[f"open/{closed} per round"] = [
                round(o / c, 3)
                for o, c in zip(
                    row["open"]["cpu_us_per_turn"], row[closed]["cpu_us_per_turn"], strict=True
                )
            ]
        result[client] = row
    if "before" in result and "ours" in result:
        for kind in KINDS:
            result[f"ours/before {kind}"] = round(
                result["ours"][kind]["median_us"] / result["before"][kind]["median_us"], 3
            )
    return result


def print_table(figures: dict[str, Any], args: argparse.Namespace, rate: int) -> None:
    out = sys.stdout
    out.write(
        f"\nopen_loop_cpu: {args.rounds} round(s) x {args.duration:g} s; loadtest mock --ttft "
        f"{args.ttft} on core {args.server_core}, generator on core {args.client_core}; "
        f"closed {args.vus}:{args.duration:g}s against open @{rate}:{args.duration:g}s\n"
        f"{'client':<8}{'stage':<8}{'rounds (µs per turn)':<28}{'median':>8}{'sys':>6}"
        f"{'sleeps':>7}{'turns/s':>9}{'in flight':>10}{'CPU':>6}  verdicts\n"
    )
    for client, row in figures.items():
        if not isinstance(row, dict):
            continue
        for kind in KINDS:
            k = row[kind]
            rounds = " ".join(f"{v:7.1f}" for v in k["cpu_us_per_turn"])
            out.write(
                f"{client:<8}{kind:<8}{rounds:<28}{k['median_us']:>8.1f}"
                f"{k['sys_us_per_turn']:>6.0f}{k['sleeps_per_turn']:>7.2f}"
                f"{k['turns_per_s']:>9,.0f}{k['peak_in_flight']:>10,.0f}{k['cpu_share']:>6.0%}"
                f"  {' '.join(k['verdicts'])}\n"
            )
        for closed in ("closed", "spread"):
            per_round = ", ".join(f"{r:.2f}" for r in row[f"open/{closed} per round"])
            out.write(
                f"  {client} open/{closed} {row[f'open/{closed}']:.2f}x  (per round: {per_round})\n"
            )
    for kind in KINDS:
        if f"ours/before {kind}" in figures:
            out.write(f"  ours/before {kind} {figures[f'ours/before {kind}']:.2f}x\n")
    for closed in ("closed", "spread"):
        ratio = figures["ours"][f"open/{closed}"]
        verdict = "met" if ratio <= GOAL else "MISSED"
        out.write(f"  goal ours open/{closed} <= {GOAL}x: {verdict} ({ratio:.2f}x)\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="CPU per turn of loadtest's open loop against its closed loop at the "
        "same rate, against `loadtest mock --ttft T`.",
        epilog="Needs 2 cores. Writes bench/out/open_loop_cpu-<UTC>.json.",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per stage (10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (3)")
    parser.add_argument("--vus", type=int, default=64, help="VUs of the closed stage (64)")
    parser.add_argument("--ttft", default="50ms", help="the mock's answer delay (50ms)")
    parser.add_argument("--rate", type=int, default=0, help="open rate (0: the closed rate)")
    parser.add_argument("--before", type=Path, help="an older loadtest source tree (git archive)")
    parser.add_argument("--client-core", type=int, default=0, help="core for loadtest (0)")
    parser.add_argument("--server-core", type=int, default=1, help="core for the mock (1)")
    parser.add_argument("--json", type=Path, help="result file")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.rounds < 1 or args.vus < 1 or args.rate < 0:
        parser.error("--duration, --rounds and --vus must be positive, --rate not negative")
    if args.before is not None and not (args.before / "loadtest").is_dir():
        parser.error(f"--before: {args.before} holds no loadtest/ source tree")
    return args


def bench(args: argparse.Namespace) -> int:
    ec.check_cores(args)
    affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {args.server_core})  # this script only waits: off the client core
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    workdir = Path(tempfile.mkdtemp(prefix="open_loop_cpu-"))
    clients = ["ours", "before"] if args.before else ["ours"]
    duration = f"{args.duration:g}s"
    overrides = {"graceful_stop": "2s", "max_in_flight": 2000}
    try:
        profile = ec.derived_profile("nonstream", workdir, overrides)
        # The closed stage again with its VUs started over one answer's time
        # (start_spread = the mock's delay), so answers come spread out as the
        # open stage's do, instead of in one burst per round of all VUs.
        (workdir / "spread").mkdir()
        spread = ec.derived_profile("nonstream", workdir / "spread", overrides)
        spread.write_text(json.dumps({**json.loads(spread.read_text()), "start_spread": args.ttft}))
        profiles = {"closed": profile, "spread": spread, "open": profile, "baseline": profile}
        _mock, url = start_mock(args)
        print(f"loadtest mock at {url} (core {args.server_core}, --ttft {args.ttft})")
        rate = args.rate
        if not rate:
            probe = run_ours(args, "ours", profile, url, f"{args.vus}:{duration}", workdir)
            rate = max(round(probe["throughput_rps"]), 1)
            print(f"closed {args.vus}:{duration}: {rate:,} turns/s: open stages run @{rate}")
        runs = []
        for round_no in range(1, args.rounds + 1):
            for client in clients:
                for kind, stages in (
                    ("closed", f"{args.vus}:{duration}"),
                    ("spread", f"{args.vus}:{duration}"),
                    ("open", f"@{rate}:{duration}"),
                    ("baseline", "1:1ms"),
                ):
                    run = run_ours(args, client, profiles[kind], url, stages, workdir)
                    run.update(round=round_no, kind=kind)
                    runs.append(run)
                    print(
                        f"round {round_no} {client:<6} {kind:<8} {stages:<12} "
                        f"{run['turns']:>7,} turns, "
                        f"CPU {run['cpu_s']:.2f}s, in flight <= {run['peak_in_flight']}, "
                        f"{run['verdict']}, load {run['loadavg_1m'][0]:.1f}",
                        flush=True,
                    )
        figures = compute(runs, clients)
        print_table(figures, args, rate)
    finally:
        ec.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
        os.sched_setaffinity(0, affinity)
    result = {
        "schema": "loadtest.bench.open_loop_cpu/1",
        "stamp": stamp,
        "git_head": ec.git_head(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "settings": {**vars(args), "before": str(args.before), "json": None, "rate": rate},
        "figures": figures,
        "runs": runs,
    }
    path = args.json or ec.OUT_DIR / f"open_loop_cpu-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nfigures written to {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return ec.run_bench("open_loop_cpu", lambda: bench(args))


if __name__ == "__main__":
    sys.exit(main())
