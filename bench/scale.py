"""Scale-out on one host: what `--workers 2` costs, and how far one host goes.

Three measurements, with the real CLI (`loadtest run ... --quiet`):

1. Coordination cost. Against nginx's canned streamed answers (the set-up
   of bench/engine_cpu.py, whose code it imports: nginx pinned to core 1),
   a closed stage `--stages N:Ds` with 1 worker (the one-process run,
   pinned to core 0) and with `--workers 2` (parent and workers allowed on
   cores 0 and 1: worker 1 shares core 1 with nginx), `--rounds` rounds,
   interleaved. CPU is user+sys of the whole process tree (`os.wait4` of
   the CLI: the parent's reaped workers included); start-up and shut-down
   are taken out by a baseline run with `--stages N:1ms` of the same
   configuration, as engine_cpu.py does:

       CPU per request = (CPU(run) - CPU(baseline)) / (turns(run) - turns(baseline))

   The ratio 2 workers / 1 worker is the coordination cost (goal: <= 1.05).
2. Open-loop ceiling, 1 and 2 workers: rates from `--rates` in increasing
   order, one stage `@R:Ds` each, until one is not sustained (achieved >=
   97% of R, schedule lag p99 <= 10 ms, verdict ok: the health rule's own
   open-loop limits); the ceiling is the last sustained rate.
3. Concurrency: `loadtest mock --workers 2 --ttft 1s --itl 100ms` (not
   pinned), closed stages of `--vus-steps` streaming VUs with `--workers 2`
   (a 10 s start spread, 30 s stages); the most VUs that hold a green
   (`ok`) verdict, and the peak RSS of the generator's process tree
   (parent + workers, summed, sampled every 0.5 s) above that of 2 VUs,
   per 1,000 VUs.

The machine may be shared: the 1-minute load average is printed with
every figure; judge ratios, not absolute rates, on a busy machine.

    .venv/bin/python bench/scale.py                       # all three, ~15 min
    .venv/bin/python bench/scale.py --skip ceiling,concurrency --rounds 5

Figures on stdout and in bench/out/scale-<UTC>.json. Findings: bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

# bench/ is sys.path[0] when this file runs as a script.
import engine_cpu as ec

from loadtest.metrics._health import LIMITS

RATE_MIN = LIMITS["rate_suspect"]
LAG_P99_MAX_MS = LIMITS["schedule_lag_p99_suspect_ms"]
CORES = {1: "0", 2: "0,1"}


def _tree_rss_kib(root: int) -> int:
    """Resident memory of `root` and its descendants (KiB)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in stat.read_text().splitlines() if ":" in line
            )
        except OSError:
            continue
        pid = int(stat.parent.name)
        children.setdefault(int(fields["PPid"]), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


class Runner:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.count = 0

    def run(
        self, profile: Path, url: str, stages: str, workers: int, core: str | None
    ) -> dict[str, Any]:
        self.count += 1
        out = self.workdir / f"run-{self.count}"
        out.mkdir()
        cmd = ec.ours_command(profile, url, stages, out)
        if workers > 1:
            cmd += ["--workers", str(workers)]
        load = os.getloadavg()[0]
        peak = [0]
        with open(out / "stderr", "wb") as stderr:
            proc = ec.spawn(cmd, core, stderr=stderr)  # type: ignore[arg-type]
            done = threading.Event()

            def sample() -> None:
                while not done.wait(0.5):
                    peak[0] = max(peak[0], _tree_rss_kib(proc.pid))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            code, cpu_s = ec.reap(proc)
            done.set()
            sampler.join()
        summaries = sorted(out.glob("summary-*.json"))
        if not summaries:
            text = (out / "stderr").read_text(errors="replace").strip()
            raise ec.BenchError(f"loadtest run {stages} failed (exit {code}): {text[-800:]}")
        summary = json.loads(summaries[-1].read_text())
        shutil.rmtree(out, ignore_errors=True)
        stage = summary["stages"][0]
        total, health = stage["total"], stage["health"]
        shards = health.get("shards") or [health]
        figures = [h["figures"] for h in shards if h.get("figures")]
        target = sum(f.get("target_rate") or 0 for f in figures)
        achieved = sum(f.get("achieved_rate") or 0 for f in figures)
        return {
            "stages": stages,
            "workers": workers,
            "exit": code,
            "turns": sum(
                s["total"]["requests"] + s["total"]["warmup_turns"] + s["total"]["interrupted"]
                for s in summary["stages"]
            ),
            "ok": total["ok"],
            "cpu_s": round(cpu_s, 3),
            "verdict": health.get("verdict"),
            "reasons": health.get("reasons", []),
            "target_rate": target or None,
            "achieved_pct": round(100 * achieved / target, 2) if target else None,
            "schedule_lag_p99_ms": total["schedule_lag_ms"]["p99"],
            "cpu_share": [f["cpu_share"] for f in figures],
            "loop_lag_p99_ms": [f["loop_lag_p99_ms"] for f in figures],
            "peak_rss_mib": round(peak[0] / 1024, 1),
            "loadavg_1m": round(load, 2),
        }


def coordination(
    runner: Runner, profile: Path, url: str, args: argparse.Namespace
) -> dict[str, Any]:
    per_request: dict[int, list[float]] = {1: [], 2: []}
    loads = []
    for round_ in range(args.rounds):
        for workers in (1, 2):
            core = CORES[workers]
            base = runner.run(profile, url, f"{args.vus}:1ms", workers, core)
            run = runner.run(profile, url, f"{args.vus}:{args.duration}s", workers, core)
            us = 1e6 * (run["cpu_s"] - base["cpu_s"]) / max(run["turns"] - base["turns"], 1)
            per_request[workers].append(us)
            loads.append(run["loadavg_1m"])
            print(
                f"  round {round_ + 1} workers {workers}: {run['turns']:,} turns, "
                f"{us:.0f} µs CPU/turn (load {run['loadavg_1m']})",
                flush=True,
            )
    medians = {w: sorted(v)[len(v) // 2] for w, v in per_request.items()}
    ratios = sorted(b / a for a, b in zip(per_request[1], per_request[2], strict=True))
    return {
        "cpu_us_per_turn": per_request,
        "median_us": medians,
        "ratio_2_over_1_median": round(medians[2] / medians[1], 3),
        "ratio_per_round": [round(r, 3) for r in ratios],
        "loadavg_1m": loads,
    }


def sustained(run: dict[str, Any]) -> bool:
    return bool(
        run["verdict"] == "ok"
        and run["achieved_pct"] is not None
        and run["achieved_pct"] >= 100 * RATE_MIN
        and (run["schedule_lag_p99_ms"] or 0) <= LAG_P99_MAX_MS
    )


def ceiling(runner: Runner, profile: Path, url: str, args: argparse.Namespace) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for workers in (1, 2):
        best, runs = None, []
        for rate in args.rates:
            run = runner.run(profile, url, f"@{rate}:{args.duration}s", workers, CORES[workers])
            runs.append(run)
            ok = sustained(run)
            print(
                f"  workers {workers} @{rate}/s: achieved {run['achieved_pct']}%, lag p99 "
                f"{run['schedule_lag_p99_ms']} ms, {run['verdict']} (load {run['loadavg_1m']})",
                flush=True,
            )
            if not ok:
                break
            best = rate
        found[str(workers)] = {"ceiling": best, "runs": runs}
    return found


def concurrency(runner: Runner, args: argparse.Namespace) -> dict[str, Any]:
    from loadtest.mock import run_mock_process

    profile = ec.derived_profile(
        "stream", runner.workdir, {"start_spread": "10s", "graceful_stop": "2s"}
    )
    results = []
    best = None
    with run_mock_process(["--workers", "2", "--ttft", "1s", "--itl", "100ms"]) as base:
        url = f"{base}/v1/chat/completions"
        idle = runner.run(profile, url, "2:3s", 2, None)["peak_rss_mib"]
        print(f"  parent + 2 workers with 2 VUs: peak RSS {idle} MiB", flush=True)
        for vus in args.vus_steps:
            run = runner.run(profile, url, f"{vus}:{args.concurrency_s}s", 2, None)
            run["vus"] = vus
            run["rss_mib_per_1000_vus"] = round((run["peak_rss_mib"] - idle) * 1000 / vus, 1)
            results.append(run)
            print(
                f"  {vus:,} VUs: {run['verdict']} (CPU {run['cpu_share']}, loop lag p99 "
                f"{run['loop_lag_p99_ms']} ms), peak RSS {run['peak_rss_mib']} MiB = "
                f"{run['rss_mib_per_1000_vus']} MiB per 1,000 VUs, {run['ok']:,} ok streams, "
                f"CPU {run['cpu_s']} s (load {run['loadavg_1m']})",
                flush=True,
            )
            if run["verdict"] != "ok":
                if not args.keep_going:
                    break
                continue
            best = vus if best is None else max(best, vus)
    return {"max_green_vus": best, "idle_rss_mib": idle, "runs": results}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per stage (1, 2)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--vus", type=int, default=64, help="closed-loop VUs for (1)")
    parser.add_argument(
        "--rates",
        type=lambda t: [int(x) for x in t.split(",")],
        default=[200, 300, 450, 600, 800, 1000, 1300, 1700],
    )
    parser.add_argument(
        "--vus-steps",
        type=lambda t: [int(x) for x in t.split(",")],
        default=[1000, 2500, 5000, 7500, 10000],
    )
    parser.add_argument("--concurrency-s", type=int, default=30)
    parser.add_argument(
        "--keep-going", action="store_true", help="(3): run every step, green or not"
    )
    parser.add_argument("--skip", default="", help="comma list of coordination,ceiling,concurrency")
    parser.add_argument("--install", action="store_true", help="apt-get nginx if missing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    if len(os.sched_getaffinity(0)) < 2:
        print("bench/scale.py needs 2 cores", file=sys.stderr)
        return 2
    figures: dict[str, Any] = {"args": vars(args), "git": ec.git_head()}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
            workdir = Path(tmp)
            runner = Runner(args, workdir)
            if not {"coordination", "ceiling"} <= skip:
                nginx = ec.ensure_nginx(args.install)
                profile = ec.derived_profile("stream", workdir, {"max_in_flight": 4000})
                with ec.running_nginx(nginx, workdir, 0, 1) as port:
                    url = f"http://127.0.0.1:{port}{ec.MODES['stream'][1]}"
                    if "coordination" not in skip:
                        print("== coordination cost (stream, nginx on core 1)", flush=True)
                        figures["coordination"] = coordination(runner, profile, url, args)
                        c = figures["coordination"]
                        print(
                            f"  median µs/turn: 1 worker {c['median_us'][1]:.0f}, 2 workers "
                            f"{c['median_us'][2]:.0f}: ratio {c['ratio_2_over_1_median']}"
                        )
                    if "ceiling" not in skip:
                        print("== open-loop ceiling (stream)", flush=True)
                        figures["ceiling"] = ceiling(runner, profile, url, args)
            if "concurrency" not in skip:
                print("== concurrency (mock --workers 2 --ttft 1s --itl 100ms)", flush=True)
                figures["concurrency"] = concurrency(runner, args)
    except ec.BenchError as exc:
        print(f"bench/scale.py: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        ec.stop_all()
        return 130
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = ec.ROOT / "bench" / "out" / f"scale-{stamp}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2, default=str))
    print(f"figures: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
