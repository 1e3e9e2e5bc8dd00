"""The sweep's search for the knee: a state machine, given probe results,
that says which probe to run next or that the search is done.

Order (docs/sweep.md):
1. `baseline`: a closed 1-VU probe, the unloaded service time. If even it
   fails, nothing is sustainable: done, no knee.
2. `ceiling`: a closed probe with `ceiling_vus` VUs; its achieved rate
   `C` (completed turns per second) is the throughput ceiling the rate
   probes start from.
3. `rate` probes, open loop. **Bracket**: the first at `start_share` x C
   (within `--min-rate`/`--max-rate`); while every rate passed, the next
   is the previous x `growth` (C x 1.1 right after the first); while
   every rate failed, the previous x 0.5. **Bisect**: once a rate passed
   (`lo`) and a higher one failed (`hi`), probe their middle, until
   `hi - lo <= precision x lo`.
4. Done: the knee is `lo`, the highest rate that passed, and the reason
   the lowest failed rate above it failed; no knee when no rate passed
   down to `min_rate`; `lo` with no reason when it reached `max_rate`.

A probe passes when its generator was not `generator-bound` and its
goodput is at least the target (sweep/_probe.py). A generator-bound rate
probe is run again once at the same rate (a transient stall, such as
another process's burst on a shared machine, must not end the search).
A generator-bound probe never passes and never counts as the gateway's
limit, yet when its rerun is bound too it bounds the search from above
like a failure (a rate the generator cannot offer
tells nothing about the gateway above it): the knee's
`next_failed_because` then says `generator-bound`, and its note says the
gateway may sustain more.

Pure; no I/O.
"""

from __future__ import annotations

from typing import Literal

import attrs

from loadtest.config import _limits as limit

__all__ = ["Done", "Probe", "ProbeResult", "SweepSearch", "SweepSettings"]

Kind = Literal["baseline", "ceiling", "rate"]
Reason = Literal["slo", "errors", "generator-bound"]

#: Bracketing: the first rate probe at this share of the ceiling ...
START_SHARE = 0.8
#: ... then this share of it, right above (a saturated server passes rarely) ...
ABOVE_CEILING = 1.1
#: ... then, while rates pass, each this much higher; while they fail, half.
GROWTH = 1.5
SHRINK = 0.5
#: Without --min-rate, rates are not probed below the ceiling / this.
FLOOR_DIVISOR = 16


@attrs.frozen
class SweepSettings:
    """What the user chose (the `loadtest sweep` options)."""

    goodput_target: float = 0.95
    precision: float = 0.05
    min_rate: float | None = None
    max_rate: float | None = None
    ceiling_vus: int = 64

    def __attrs_post_init__(self) -> None:
        if not 0 < self.goodput_target <= 1:
            raise ValueError(
                f"the goodput target is above 0 and at most 1, got {self.goodput_target}"
            )
        if not 0 < self.precision < 1:
            raise ValueError(f"the precision is above 0 and below 1, got {self.precision:g}")
        for name, value in (("min rate", self.min_rate), ("max rate", self.max_rate)):
            if value is not None and not 0 < value <= limit.MAX_RATE:
                raise ValueError(
                    f"the {name} must be above 0 and at most {limit.MAX_RATE:,g}/s, got {value:g}"
                )
        if self.min_rate and self.max_rate and self.min_rate > self.max_rate:
            raise ValueError(
                f"the min rate ({self.min_rate:g}/s) is above the max rate ({self.max_rate:g}/s)"
            )
        if not 1 <= self.ceiling_vus <= limit.MAX_VUS:
            raise ValueError(
                f"the ceiling probe needs 1 to {limit.MAX_VUS:,} VUs, got {self.ceiling_vus}"
            )


@attrs.frozen
class Probe:
    """The next stage to run: closed with `vus`, or open at `rate` per second."""

    kind: Kind
    vus: int | None = None
    rate: float | None = None


@attrs.frozen
class ProbeResult:
    """How a probe went: whether it passed, why not, and its achieved rate."""

    kind: Kind
    passed: bool
    reason: Reason | None
    achieved_rps: float | None
    offered_rps: float | None = None


@attrs.frozen
class Done:
    """The search's end: the knee (None: no rate passed) and why the next failed."""

    rate: float | None
    next_failed_because: Reason | None
    note: str


def _rate_text(rate: float) -> str:
    return f"{rate:.3g}/s"


class SweepSearch:
    """Feed it each probe's result (`record`); ask it what is next (`next`)."""

    def __init__(self, settings: SweepSettings) -> None:
        self.settings = settings
        self.results: list[ProbeResult] = []
        self._ceiling: float | None = None
        self._lo: float | None = None
        self._hi: ProbeResult | None = None
        self._done: Done | None = None
        self._rerun: float | None = None
        self._rerun_rates: set[float] = set()

    def record(self, result: ProbeResult) -> None:
        """The result of the probe `next()` last returned."""
        self.results.append(result)
        if result.kind == "baseline":
            if result.reason == "generator-bound":
                self._done = Done(
                    None,
                    result.reason,
                    "the baseline (one user) was generator-bound: this machine cannot "
                    "measure the gateway; nothing was searched",
                )
            elif not result.passed:
                self._done = Done(
                    None,
                    result.reason,
                    f"even one user at a time (the baseline) failed on {result.reason}: "
                    "no rate is sustainable",
                )
        elif result.kind == "ceiling":
            self._ceiling = result.achieved_rps or 0.0
            if not self._ceiling:
                self._done = Done(
                    None,
                    result.reason or "errors",
                    "the ceiling probe completed no turn: no rate to start from",
                )
        else:
            assert result.offered_rps is not None
            rate = result.offered_rps
            if result.reason == "generator-bound" and rate not in self._rerun_rates:
                self._rerun = rate
                self._rerun_rates.add(rate)
            elif result.passed:
                self._lo = result.offered_rps
            elif self._hi is None or result.offered_rps < (self._hi.offered_rps or 0):
                self._hi = result

    def _floor(self) -> float:
        if self.settings.min_rate is not None:
            return self.settings.min_rate
        return (self._ceiling or 0) / FLOOR_DIVISOR

    def _high(self) -> float:
        """The highest rate probed: `max_rate`, else the highest rate a stage takes."""
        return limit.MAX_RATE if self.settings.max_rate is None else self.settings.max_rate

    def _clip(self, rate: float) -> float:
        return max(min(rate, self._high()), self._floor())

    def next(self) -> Probe | Done:
        """The next probe to run, or `Done` with the knee."""
        if self._done is not None:
            return self._done
        if not self.results:
            return Probe("baseline", vus=1)
        if self._ceiling is None:
            return Probe("ceiling", vus=self.settings.ceiling_vus)
        if self._rerun is not None:
            rate, self._rerun = self._rerun, None
            return Probe("rate", rate=rate)
        rates = [r for r in self.results if r.kind == "rate"]
        if not rates:
            return Probe("rate", rate=self._round(self._clip(START_SHARE * self._ceiling)))
        lo, hi = self._lo, self._hi
        if lo is None:
            assert hi is not None
            assert hi.offered_rps is not None
            if hi.offered_rps <= self._floor():
                return self._finish(None)
            return Probe("rate", rate=self._round(self._clip(hi.offered_rps * SHRINK)))
        if hi is None:
            if lo >= self._high():
                return self._finish(lo)
            first = len({r.offered_rps for r in rates}) == 1
            step = ABOVE_CEILING * self._ceiling if first else lo * GROWTH
            return Probe("rate", rate=self._round(self._clip(max(step, lo * 1.01))))
        assert hi.offered_rps is not None
        middle = self._round((lo + hi.offered_rps) / 2)
        if hi.offered_rps - lo <= self.settings.precision * lo or middle in (lo, hi.offered_rps):
            return self._finish(lo)
        return Probe("rate", rate=middle)

    @staticmethod
    def _round(rate: float) -> float:
        """Rates to 4 significant figures: stage strings and reports stay readable."""
        return float(f"{rate:.4g}")

    def stopped(self) -> Done:
        """The end of a search stopped before it converged (Ctrl-C): the
        highest rate that passed so far, and why the lowest rate above it
        failed (None when none did yet)."""
        if self._done is not None:
            return self._done
        hi = self._hi
        note = (
            "stopped before the search converged: the knee is the highest rate that passed so far"
        )
        return Done(self._lo, hi.reason if hi is not None else None, note)

    def _finish(self, knee: float | None) -> Done:
        hi = self._hi
        reason = hi.reason if hi is not None else None
        if knee is None:
            note = (
                f"every rate failed, down to {_rate_text(self._floor())} "
                f"(the lowest failed on {reason})"
            )
        elif hi is None:
            note = f"every rate passed, up to --max-rate ({_rate_text(knee)}): the knee is higher"
        elif reason == "generator-bound":
            note = (
                f"the probe at {_rate_text(hi.offered_rps or 0)} was generator-bound: not counted "
                "as the gateway's limit, which may be higher (run more generator processes)"
            )
        else:
            note = f"the next probe, at {_rate_text(hi.offered_rps or 0)}, failed on {reason}"
        if any(r.reason == "generator-bound" for r in self.results) and reason != "generator-bound":
            note += "; a generator-bound probe was not counted"
        self._done = Done(knee, reason, note)
        return self._done
