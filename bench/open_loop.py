"""Open-loop accuracy of loadtest's generator: achieved rate and schedule lag
as the asked rate approaches the generator's own ceiling.

Set-up (shared with bench/engine_cpu.py, imported from it): nginx with the
echo module, one process pinned to the server core, serving the canned
OpenAI answers of bench/nginx/ (a 128-token chat.completion; a 132-event SSE
stream, one HTTP chunk per event), checked at start-up with a raw socket and
loadtest's own adapter. Our generator is the real CLI, pinned to the client
core: `loadtest run <copy of profiles/perf-128-{nonstream,stream}.json with
warmup "0s", graceful_stop "2s", max_in_flight 2000> --target ... --stages S
--quiet --out <tmp>`, one stage per run, figures read from the summary.

1. Ceiling, per mode: the highest open-loop rate the generator sustains,
   defined with the health verdict's own open-loop thresholds
   (loadtest/metrics/_health.py LIMITS): a 10 s stage `@R:10s` "sustains" R
   when achieved rate (arrivals handled / duration) >= 97% of R, schedule lag
   p99 <= 10 ms and nothing was dropped. nginx answers in microseconds on its
   own core, so the generator alone limits this. Search: a closed-loop stage
   `64:10s` first (its completed turns/s is an upper bound: 64 VUs keep the
   event loop busy with no timer wake-up per request), then `@<that>:10s`
   (overdriven: what the scheduler handles flat out), then a geometric
   bisection between the highest sustained and the lowest failed rate until
   they are within --tolerance (3%). Each bisected rate is judged by the
   majority of --probe-runs (3) stages (stopping once two agree): near the
   ceiling schedule lag p99 jumps from ~5 to ~40 ms within a few percent of
   rate, and one stage alone decides it by chance. The ceiling is the highest
   sustained rate.
2. Levels: for each of --levels (25,50,70,90% of the ceiling) and --over
   (120%: what saturation looks like), an open-loop stage `@R:10s`, --rounds
   times, interleaved (every level of every mode in each round); medians.

Per level: target rate, achieved rate and its share of the target,
completed turns/s (`total.throughput_rps`), schedule lag p50/p99/max
(`total.schedule_lag_ms`), event-loop lag p99, CPU share, and the stage's
health verdict (per round, with its reasons when not ok).

Run (as root, on a machine with at least two cores; ~11 minutes by default):

    .venv/bin/python bench/open_loop.py
    .venv/bin/python bench/open_loop.py --modes stream --rounds 5 --levels 50,80,95
    .venv/bin/python bench/open_loop.py --ceiling nonstream=4500,stream=950   # skip the search

Results: a table on stdout and the same figures (every run's) in
bench/out/open_loop-<UTC>.json. Findings: bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# bench/ is sys.path[0] when this file runs as a script.
import engine_cpu as ec

from loadtest.metrics._health import LIMITS

RATE_MIN = LIMITS["rate_suspect"]  # achieved / target at least this ...
LAG_P99_MAX_MS = LIMITS["schedule_lag_p99_suspect_ms"]  # ... and schedule lag p99 at most this
CEILING_DEFINITION = (
    f"highest open-loop rate R whose stage @R:<duration> had achieved rate >= {RATE_MIN:.0%} "
    f"of R, schedule lag p99 <= {LAG_P99_MAX_MS:g} ms and no drop (the health verdict's "
    "open-loop thresholds) in the majority of its probe runs; found by bisection under the "
    "closed-loop rate"
)


# --- one run of ours ------------------------------------------------------------------


class Runner:
    """Runs `loadtest run` with one stage, pinned, and reads its summary."""

    def __init__(self, args: argparse.Namespace, workdir: Path, port: int) -> None:
        self.args = args
        self.workdir = workdir
        self.port = port
        self.profiles: dict[str, Path] = {}
        self.count = 0

    def run(self, mode: str, stages: str) -> dict[str, Any]:
        self.count += 1
        out = self.workdir / f"run-{self.count}"
        out.mkdir()
        url = f"http://127.0.0.1:{self.port}{ec.MODES[mode][1]}"
        cmd = ec.ours_command(self.profiles[mode], url, stages, out)
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        with open(out / "stderr", "wb") as stderr:
            code, cpu_s = ec.reap(ec.spawn(cmd, self.args.client_core, stderr=stderr))
        wall_s = time.monotonic() - started
        summaries = sorted(out.glob("summary-*.json"))
        if code != 0 or not summaries:
            text = (out / "stderr").read_text(errors="replace").strip()
            raise ec.BenchError(f"loadtest run {stages} failed (exit {code}): {text[-800:]}")
        stage = json.loads(summaries[-1].read_text())["stages"][0]
        shutil.rmtree(out, ignore_errors=True)
        total, health = stage["total"], stage["health"]
        figures = health["figures"]
        lag = total["schedule_lag_ms"]
        target = figures.get("target_rate")
        achieved = figures.get("achieved_rate")
        run = {
            "mode": mode,
            "stages": stages,
            "target_rate": target,
            "achieved_rate": achieved,
            "achieved_pct": round(100 * achieved / target, 2) if target else None,
            "throughput_rps": total["throughput_rps"],
            "schedule_lag_ms": {k: lag[k] for k in ("p50", "p99", "max", "count")},
            "loop_lag_p99_ms": figures["loop_lag_p99_ms"],
            "loop_lag_max_ms": figures["loop_lag_max_ms"],
            "cpu_share": figures["cpu_share"],
            "peak_in_flight": figures["peak_in_flight"],
            "verdict": health["verdict"],
            "reasons": health["reasons"],
            "requests": total["requests"],
            "failed": total["failed"],
            "interrupted": total["interrupted"],
            "dropped": total["dropped"],
            "duration_s": stage["duration_s"],
            "steady_s": stage["steady_s"],
            "process_cpu_s": round(cpu_s, 3),
            "process_wall_s": round(wall_s, 3),
            "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
        if run["failed"]:
            print(f"WARNING: {run['failed']} failed turns in {mode} {stages}", file=sys.stderr)
        return run


def sustains(run: dict[str, Any]) -> bool:
    lag_p99 = run["schedule_lag_ms"]["p99"]
    return (
        run["achieved_pct"] is not None
        and run["achieved_pct"] >= 100 * RATE_MIN
        and lag_p99 is not None
        and lag_p99 <= LAG_P99_MAX_MS
        and run["dropped"] == 0
    )


def _brief(run: dict[str, Any]) -> str:
    lag = run["schedule_lag_ms"]
    text = (
        f"achieved {run['achieved_rate']:,.0f}/s ({run['achieved_pct']:.1f}%), "
        f"lag p99 {_ms(lag['p99'])} ms"
        if run["target_rate"]
        else f"{run['throughput_rps']:,.0f} turns/s"
    )
    return f"{text}, CPU {run['cpu_share']:.0%}, {run['verdict']}"


# --- the ceiling ------------------------------------------------------------------------


def find_ceiling(runner: Runner, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    """Closed-loop rate, then a bisection for the highest sustained open-loop rate."""
    duration = f"{args.duration:g}s"
    closed = runner.run(mode, f"{args.connections}:{duration}")
    print(f"  {mode} closed {args.connections}:{duration}: {_brief(closed)}", flush=True)
    probes: list[dict[str, Any]] = []

    def probe(rate: int, runs: int) -> bool:
        """Sustained in the majority of up to `runs` stages (stops once decided)."""
        votes = [0, 0]
        while max(votes) <= runs // 2 and sum(votes) < runs:
            run = runner.run(mode, f"@{rate}:{duration}")
            run["sustained"] = sustains(run)
            votes[run["sustained"]] += 1
            probes.append(run)
            word = "sustained" if run["sustained"] else "not sustained"
            print(f"  {mode} @{rate}:{duration}: {word}: {_brief(run)}", flush=True)
        return votes[1] > votes[0]

    low: int | None = None
    high = max(round(closed["throughput_rps"]), 1)
    if probe(high, 1):
        low = high  # not searched above the closed-loop rate
    else:
        # Overdriven, the scheduler handles what it can: start a little under that.
        rate = max(round(0.9 * probes[-1]["achieved_rate"]), 1)
        for _ in range(args.search_steps):
            if probe(rate, args.probe_runs):
                low = rate
            else:
                high = rate
            if low is not None and high / low <= 1 + args.tolerance:
                break
            rate = round(math.sqrt(low * high)) if low is not None else max(round(0.7 * rate), 1)
            if rate in (low, high):
                break
    if low is None:
        lowest = min(p["target_rate"] for p in probes)
        raise ec.BenchError(f"{mode}: no probed rate was sustained (lowest {lowest:g}/s)")
    return {
        "ceiling": low,
        "lowest_failed": high if high != low else None,
        "closed_loop": closed,
        "probes": probes,
        "definition": CEILING_DEFINITION,
    }


# --- figures ------------------------------------------------------------------------------


def _median(values: list[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return float(statistics.median(found)) if found else None


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def compute(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per mode and level: medians over the rounds, verdicts and reasons per round."""
    figures: dict[str, Any] = {}
    for run in runs:
        figures.setdefault(run["mode"], {}).setdefault(run["level_pct"], []).append(run)
    result: dict[str, Any] = {}
    for mode, levels in figures.items():
        result[mode] = {}
        for pct, group in sorted(levels.items()):
            result[mode][str(pct)] = {
                "level_pct": pct,
                "target_rate": group[0]["target_rate"],
                "achieved_rate": _median([r["achieved_rate"] for r in group]),
                "achieved_pct": _median([r["achieved_pct"] for r in group]),
                "throughput_rps": _median([r["throughput_rps"] for r in group]),
                "schedule_lag_p50_ms": _median([r["schedule_lag_ms"]["p50"] for r in group]),
                "schedule_lag_p99_ms": _median([r["schedule_lag_ms"]["p99"] for r in group]),
                "schedule_lag_max_ms": _median([r["schedule_lag_ms"]["max"] for r in group]),
                "loop_lag_p99_ms": _median([r["loop_lag_p99_ms"] for r in group]),
                "cpu_share": _median([r["cpu_share"] for r in group]),
                "peak_in_flight": _median([r["peak_in_flight"] for r in group]),
                "verdicts": [r["verdict"] for r in group],
                "reasons": [r["reasons"] for r in group],
                "dropped": sum(r["dropped"] for r in group),
                "failed": sum(r["failed"] for r in group),
                "rounds": len(group),
            }
    return result


_SHORT = {"ok": "ok", "suspect": "susp", "generator-bound": "BOUND"}


def print_tables(
    figures: dict[str, Any], ceilings: dict[str, Any], args: argparse.Namespace
) -> None:
    out = sys.stdout
    out.write(
        f"\nopen_loop: {args.rounds} round(s) x {args.duration:g} s per level; generator on core "
        f"{args.client_core}, nginx on core {args.server_core}; medians of the rounds\n"
        f"ceiling = {CEILING_DEFINITION}\n"
    )
    for mode, levels in figures.items():
        c = ceilings[mode]
        closed = c.get("closed_loop")
        extra = (
            f"; closed loop {args.connections}:{args.duration:g}s: "
            f"{closed['throughput_rps']:,.0f} turns/s"
            if closed
            else ""
        )
        failed = f", {c['lowest_failed']:,}/s not" if c.get("lowest_failed") else ""
        source = "searched" if closed else "given"
        out.write(
            f"\n== {mode}: ceiling {c['ceiling']:,}/s ({source}{failed}{extra})\n"
            f"{'level':>6}{'target/s':>10}{'achieved/s':>12}{'%target':>9}{'done/s':>9}"
            f"{'lag p50':>9}{'lag p99':>9}{'lag max':>9}{'loop p99':>10}{'CPU':>6}"
            "  verdict per round\n"
        )
        notes = []
        for level in levels.values():
            verdicts = " ".join(_SHORT[v] for v in level["verdicts"])
            out.write(
                f"{level['level_pct']:>5}%{level['target_rate']:>10,.0f}"
                f"{level['achieved_rate']:>12,.1f}{level['achieved_pct']:>8.1f}%"
                f"{level['throughput_rps']:>9,.0f}{_ms(level['schedule_lag_p50_ms']):>9}"
                f"{_ms(level['schedule_lag_p99_ms']):>9}{_ms(level['schedule_lag_max_ms']):>9}"
                f"{_ms(level['loop_lag_p99_ms']):>10}{level['cpu_share']:>6.0%}  {verdicts}\n"
            )
            per_round = zip(level["verdicts"], level["reasons"], strict=True)
            for i, (verdict, reasons) in enumerate(per_round):
                if verdict != "ok":
                    notes.append(
                        f"  {level['level_pct']}% round {i + 1} {verdict}: {'; '.join(reasons)}"
                    )
            if level["dropped"] or level["failed"]:
                notes.append(
                    f"  {level['level_pct']}%: {level['dropped']} dropped, "
                    f"{level['failed']} failed turns"
                )
        out.write("".join(note + "\n" for note in notes))
    out.write(
        "  (lag columns: schedule lag in ms; loop p99: event-loop lag p99 in ms; CPU: "
        "generator CPU share; verdict: ok, susp = suspect, BOUND = generator-bound)\n"
    )


# --- main ---------------------------------------------------------------------------------


def _pct_list(text: str, flag: str, parser: argparse.ArgumentParser) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        parser.error(f"{flag}: a comma list of whole percentages, got {text!r}")
    if any(v <= 0 for v in values):
        parser.error(f"{flag}: percentages must be positive")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Achieved rate and schedule lag of loadtest's open loop (the real CLI) at "
        "shares of its measured ceiling, against nginx serving canned OpenAI answers.",
        epilog="Needs 2 cores and nginx with the echo module (installed with apt-get if "
        "missing, as root). Writes bench/out/open_loop-<UTC>.json.",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per stage (10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every level (3)")
    parser.add_argument(
        "--levels", default="25,50,70,90", help="percentages of the ceiling (25,50,70,90)"
    )
    parser.add_argument(
        "--over", default="120", help="percentages above the ceiling, '' for none (120)"
    )
    parser.add_argument(
        "--modes", default="nonstream,stream", help="comma list of nonstream,stream (both)"
    )
    parser.add_argument(
        "--ceiling",
        default="",
        help="skip the search: MODE=RATE[,MODE=RATE] (e.g. nonstream=4500,stream=950)",
    )
    parser.add_argument(
        "--tolerance", type=float, default=0.03, help="search stops within this ratio (0.03)"
    )
    parser.add_argument("--search-steps", type=int, default=8, help="probed rates at most (8)")
    parser.add_argument(
        "--probe-runs",
        type=int,
        default=3,
        help="stages per probed rate, majority decides, stops once decided (3)",
    )
    parser.add_argument(
        "--connections", type=int, default=64, help="VUs of the closed-loop probe (64)"
    )
    parser.add_argument(
        "--max-in-flight", type=int, default=2000, help="profile max_in_flight (2000)"
    )
    parser.add_argument("--client-core", type=int, default=0, help="core for loadtest (0)")
    parser.add_argument("--server-core", type=int, default=1, help="core for nginx (1)")
    parser.add_argument("--port", type=int, default=0, help="nginx port (0: a free one)")
    parser.add_argument("--json", type=Path, help="result file (bench/out/open_loop-<UTC>.json)")
    parser.add_argument("--no-install", action="store_true", help="fail instead of installing")
    args = parser.parse_args(argv)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for mode in args.modes:
        if mode not in ec.MODES:
            parser.error(f"--modes: unknown mode {mode!r} (nonstream, stream)")
    args.levels = _pct_list(args.levels, "--levels", parser)
    args.over = _pct_list(args.over, "--over", parser)
    given: dict[str, int] = {}
    for item in filter(None, (p.strip() for p in args.ceiling.split(","))):
        mode, _, rate = item.partition("=")
        if mode not in ec.MODES or not rate.isdigit() or int(rate) < 1:
            parser.error(f"--ceiling: expected MODE=RATE with MODE nonstream/stream, got {item!r}")
        given[mode] = int(rate)
    args.ceiling = given
    if args.duration <= 0 or args.rounds < 1 or args.connections < 1:
        parser.error("--duration, --rounds and --connections must be positive")
    if (
        min(args.search_steps, args.probe_runs, args.max_in_flight) < 1
        or not 0 < args.tolerance < 1
    ):
        parser.error(
            "--search-steps, --probe-runs, --tolerance (0..1) and --max-in-flight must be positive"
        )
    if not args.levels and not args.over:
        parser.error("nothing to run: --levels and --over are both empty")
    return args


def bench(args: argparse.Namespace) -> int:
    ec.check_cores(args)
    nginx = ec.ensure_nginx(not args.no_install)
    affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {args.server_core})  # this script only waits: off the client core
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    code_before = ec.code_fingerprint()
    workdir = Path(tempfile.mkdtemp(prefix="open_loop-"))
    overrides = {"graceful_stop": "2s", "max_in_flight": args.max_in_flight}
    started = time.monotonic()
    try:
        profiles = {mode: ec.derived_profile(mode, workdir, overrides) for mode in args.modes}
        specs = {
            mode: ec.capture_request(profiles[mode], ec.MODES[mode][1], workdir)
            for mode in args.modes
        }
        with ec.running_nginx(nginx, workdir, args.port, args.server_core) as port:
            answers = ec.check_answers(port, specs)
            print(f"nginx on 127.0.0.1:{port} (core {args.server_core}); answers: {answers}")
            runner = Runner(args, workdir, port)
            runner.profiles = profiles
            ceilings: dict[str, Any] = {}
            for mode in args.modes:
                if mode in args.ceiling:
                    ceilings[mode] = {"ceiling": args.ceiling[mode], "definition": "given"}
                    continue
                print(f"ceiling search, {mode}: {CEILING_DEFINITION}", flush=True)
                ceilings[mode] = find_ceiling(runner, mode, args)
                print(f"  {mode} ceiling: {ceilings[mode]['ceiling']:,}/s", flush=True)
            runs = []
            for round_no in range(1, args.rounds + 1):
                for mode in args.modes:
                    for pct in [*args.levels, *args.over]:
                        rate = max(round(ceilings[mode]["ceiling"] * pct / 100), 1)
                        run = runner.run(mode, f"@{rate}:{args.duration:g}s")
                        run.update(round=round_no, level_pct=pct)
                        runs.append(run)
                        print(
                            f"round {round_no} {mode:<9} {pct:>4}% @{rate}: {_brief(run)}, "
                            f"load {run['loadavg_1m'][0]:.1f}",
                            flush=True,
                        )
            figures = compute(runs)
            print_tables(figures, ceilings, args)
    finally:
        ec.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
        os.sched_setaffinity(0, affinity)
    code_after = ec.code_fingerprint()
    changed = sorted(
        name
        for name in code_before.keys() | code_after.keys()
        if code_before.get(name) != code_after.get(name)
    )
    if changed:
        print(
            f"WARNING: loadtest/ changed during the run: {', '.join(changed)}; "
            "the figures may mix versions",
            file=sys.stderr,
        )
    result = {
        "schema": "loadtest.bench.open_loop/1",
        "stamp": stamp,
        "git_head": ec.git_head(),
        "loadtest_code_sha256": [ec._digest(code_before), ec._digest(code_after)],
        "loadtest_changed_during_run": changed,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "elapsed_s": round(time.monotonic() - started, 1),
        "settings": {
            "duration_s": args.duration,
            "rounds": args.rounds,
            "levels_pct": args.levels,
            "over_pct": args.over,
            "modes": args.modes,
            "profile_overrides": {"warmup": "0s", **overrides},
            "closed_loop_connections": args.connections,
            "search_tolerance": args.tolerance,
            "search_probe_runs": args.probe_runs,
            "client_core": args.client_core,
            "server_core": args.server_core,
            "sustain_thresholds": {"achieved_min": RATE_MIN, "lag_p99_max_ms": LAG_P99_MAX_MS},
        },
        "versions": ec.versions(nginx),
        "answers": answers,
        "ceilings": ceilings,
        "figures": figures,
        "runs": runs,
    }
    path = args.json or ec.OUT_DIR / f"open_loop-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nfigures written to {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return ec.run_bench("open_loop", lambda: bench(args))


if __name__ == "__main__":
    sys.exit(main())
