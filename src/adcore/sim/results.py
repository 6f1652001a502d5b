"""What a simulation measured, per arm and seed, and how the arms compare."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .scenario import Scenario

__all__ = ["METRICS", "ArmRun", "SimResults", "SummaryRow"]

METRICS: dict[str, tuple[str, bool]] = {
    "ctr": ("CTR", True),
    "completion_rate": ("completion rate", True),
    "skip_rate": ("skip rate", False),
    "fill_rate": ("fill rate", True),
    "revenue": ("revenue", True),
    "advertiser_value": ("advertiser value", True),
    "roi": ("advertiser ROI", True),
    "spend_vs_budget": ("spend / budget", True),
    "pacing_error": ("pacing error", False),
    "exhausted_early": ("campaigns out before 90% of day", False),
    "first_exhaustion_hour": ("first budget exhaustion (h)", True),
    "bot_spend_share": ("spend on bots", False),
    "latency_p50_us": ("decision latency p50 (us)", False),
    "latency_p99_us": ("decision latency p99 (us)", False),
    "consent_violations": ("consent violations", False),
    "gdpr_personalised_share": ("GDPR requests personalised", True),
}
"""Metric key -> (label, whether higher is better)."""

# Two-sided 95 % Student t quantiles by degrees of freedom (1..30); normal beyond.
_T95 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


@dataclass(frozen=True)
class ArmRun:
    """One arm on one seed's day."""

    arm: str
    seed: int
    metrics: dict[str, float]
    campaign_ids: tuple[str, ...]
    daily_budget: NDArray[np.float64]
    spend: NDArray[np.float64]
    value: NDArray[np.float64]
    exhausted_hour: NDArray[np.float64]
    hourly_spend: NDArray[np.float64]
    planned: NDArray[np.float64]
    hourly: dict[str, NDArray[np.float64]]
    latency_us: NDArray[np.float64]
    agent_us: dict[str, list[float]]

    @classmethod
    def build(
        cls,
        *,
        arm: str,
        seed: int,
        scenario: Scenario,
        counts: dict[str, int],
        spend_micros: NDArray[np.float64],
        daily_micros: NDArray[np.float64],
        value: NDArray[np.float64],
        bot_spend_micros: int,
        hourly_spend_micros: NDArray[np.float64],
        hourly: dict[str, NDArray[np.float64]],
        exhausted_hour: NDArray[np.float64],
        latency_us: NDArray[np.float64],
        agent_us: dict[str, list[float]],
        campaign_ids: list[str],
    ) -> ArmRun:
        spend = spend_micros / 1e6
        daily = daily_micros / 1e6
        weights = np.asarray(scenario.diurnal, dtype=np.float64)
        planned = np.cumsum(weights) / weights.sum()
        frac = hourly_spend_micros / np.where(daily_micros > 0, daily_micros, 1.0)
        shown = counts["shown"]
        av = counts["av_shown"]
        revenue = int(spend_micros.sum()) / 1e6  # one rounding: exact integer sum
        total_value = float(value.sum())
        early = int(np.sum(exhausted_hour < 0.9 * 24))
        first = float(np.nanmin(exhausted_hour)) if np.any(~np.isnan(exhausted_hour)) else 24.0
        gdpr = counts.get("gdpr_requests", 0)
        metrics = {
            "ctr": counts["clicks"] / shown if shown else 0.0,
            "completion_rate": counts["completes"] / av if av else 0.0,
            "skip_rate": counts["skips"] / av if av else 0.0,
            "fill_rate": shown / counts["slots"] if counts["slots"] else 0.0,
            "revenue": revenue,
            "advertiser_value": total_value,
            "roi": total_value / revenue if revenue > 0 else 0.0,
            "spend_vs_budget": revenue / float(daily.sum()) if daily.sum() > 0 else 0.0,
            "pacing_error": float(np.mean(np.abs(frac - planned[:, None]))),
            "exhausted_early": float(early),
            "first_exhaustion_hour": first,
            "bot_spend_share": bot_spend_micros / spend_micros.sum()
            if spend_micros.sum() > 0
            else 0.0,
            "latency_p50_us": float(np.percentile(latency_us, 50)),
            "latency_p99_us": float(np.percentile(latency_us, 99)),
            "consent_violations": float(counts.get("consent_violations", 0)),
            "gdpr_personalised_share": counts.get("gdpr_personalised", 0) / gdpr if gdpr else 0.0,
        }
        return cls(
            arm=arm,
            seed=seed,
            metrics=metrics,
            campaign_ids=tuple(campaign_ids),
            daily_budget=daily,
            spend=spend,
            value=value,
            exhausted_hour=exhausted_hour,
            hourly_spend=hourly_spend_micros / 1e6,
            planned=planned,
            hourly=hourly,
            latency_us=latency_us,
            agent_us=agent_us,
        )


@dataclass(frozen=True)
class SummaryRow:
    """One metric: each arm's mean over seeds, and the first arm's uplift over the
    reference arm with a 95 % confidence interval across seeds (Student t; None with a
    single seed)."""

    metric: str
    label: str
    higher_is_better: bool
    means: dict[str, float]
    uplift: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class SimResults:
    """Every arm's run on every seed of one scenario."""

    scenario: Scenario
    runs: list[ArmRun]
    arms: tuple[str, ...]

    @property
    def seeds(self) -> list[int]:
        return sorted({r.seed for r in self.runs})

    def run(self, arm: str, seed: int) -> ArmRun:
        """The run of ``arm`` on ``seed``."""
        return next(r for r in self.runs if r.arm == arm and r.seed == seed)

    def table(self) -> list[dict[str, Any]]:
        """A tidy table: one row per (arm, seed, metric), for data frames."""
        return [
            {"scenario": self.scenario.name, "arm": r.arm, "seed": r.seed, "metric": k, "value": v}
            for r in self.runs
            for k, v in r.metrics.items()
        ]

    def summary(self, reference: str | None = None) -> list[SummaryRow]:
        """Per metric, each arm's mean and the first arm's relative uplift over
        ``reference`` (the second arm by default) with a 95 % interval across seeds."""
        ours = self.arms[0]
        ref = reference or (self.arms[1] if len(self.arms) > 1 else None)
        rows = []
        for key, (label, better) in METRICS.items():
            means = {
                a: float(np.mean([self.run(a, s).metrics[key] for s in self.seeds]))
                for a in self.arms
            }
            uplift = lo = hi = None
            if ref is not None:
                diffs = []
                for s in self.seeds:
                    b = self.run(ref, s).metrics[key]
                    a = self.run(ours, s).metrics[key]
                    diffs.append((a - b) / abs(b) if b != 0 else (0.0 if a == b else math.inf))
                d = np.array(diffs)
                if np.all(np.isfinite(d)):
                    uplift = float(d.mean())
                    if len(d) > 1:
                        t = _T95[len(d) - 2] if len(d) - 1 <= len(_T95) else 1.96
                        half = t * float(d.std(ddof=1)) / math.sqrt(len(d))
                        lo, hi = uplift - half, uplift + half
            rows.append(
                SummaryRow(
                    metric=key,
                    label=label,
                    higher_is_better=better,
                    means=means,
                    uplift=uplift,
                    ci_low=lo,
                    ci_high=hi,
                )
            )
        return rows

    def format(self, reference: str | None = None) -> str:
        """The summary as a text table."""
        rows = self.summary(reference)
        ours = self.arms[0]
        ref = reference or (self.arms[1] if len(self.arms) > 1 else None)
        head = (
            f"scenario {self.scenario.name}: {self.scenario.requests} requests per day, "
            f"seeds {', '.join(map(str, self.seeds))}"
        )
        cols = list(self.arms)
        lines = [head, ""]
        width = max(len(r.label) for r in rows)
        header = f"{'metric':<{width}}  " + "  ".join(f"{a:>12}" for a in cols)
        if ref is not None:
            header += f"  {ours + ' vs ' + ref:>28}"
        lines += [header, "-" * len(header)]
        for r in rows:
            line = f"{r.label:<{width}}  " + "  ".join(f"{_num(r.means[a]):>12}" for a in cols)
            if ref is not None:
                if r.uplift is None:
                    cell = "n/a"
                else:
                    cell = f"{r.uplift:+.1%}"
                    if r.ci_low is not None and r.ci_high is not None:
                        cell += f" [{r.ci_low:+.1%}, {r.ci_high:+.1%}]"
                line += f"  {cell:>28}"
            lines.append(line)
        lines.append("")
        lines.append(
            "spend / daily budget per campaign, and the hour its budget ran out "
            "(first seed; - if it did not):"
        )
        for a in cols:
            runs = [self.run(a, s) for s in self.seeds]
            shares = np.mean(
                [r.spend / np.where(r.daily_budget > 0, r.daily_budget, 1) for r in runs], axis=0
            )
            out_at = runs[0].exhausted_hour
            cells = " ".join(
                f"{cid}:{x:4.0%}@{'-' if np.isnan(h) else f'{h:.1f}h'}"
                for cid, x, h in zip(runs[0].campaign_ids, shares, out_at, strict=True)
            )
            lines.append(f"  {a:<10} {cells}")
        return "\n".join(lines)


def _num(x: float) -> str:
    if x == 0 or (abs(x) >= 0.01 and abs(x) < 10_000):
        return f"{x:.4g}"
    return f"{x:.3e}"
