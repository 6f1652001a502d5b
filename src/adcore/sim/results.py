"""What a simulation measured, per arm and seed, and how the arms compare.

Every metric is defined once, in :func:`ArmRun.build` and the functions it calls, and
documented in ``docs/simulator.md``. Engagement is measured on human traffic only (the
market knows which requests are bots; bots are reported apart), per format: clicks are
the action of display ads, completions (and skips) that of audio and video ads.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .scenario import Scenario

__all__ = [
    "METRICS",
    "VALUE_METRICS",
    "ArmRun",
    "SimResults",
    "SummaryRow",
    "match_spend",
    "pacing_error",
    "value_at_spend",
]

METRICS: dict[str, tuple[str, bool | None]] = {
    "relevance": ("relevance (true affinity, human)", True),
    "ctr_human": ("CTR, display, human", True),
    "completion_rate": ("completion rate, audio+video, human", True),
    "completion_rate_audio": ("completion rate, audio, human", True),
    "completion_rate_video": ("completion rate, video, human", True),
    "skip_rate": ("skip rate, audio+video, human", False),
    "seconds_listened": ("seconds listened, human", True),
    "advertiser_value": ("advertiser value", True),
    "spend": ("spend", None),
    "roas": ("ROAS (value / spend)", True),
    "advertiser_surplus": ("advertiser surplus (value - spend)", True),
    "value_at_matched_spend": ("value at matched spend", True),
    "delivery": ("delivery (spend / budget)", True),
    "delivery_min": ("lowest campaign delivery", True),
    "campaigns_out_early": ("campaigns out before 90% of day", False),
    "first_exhaustion_hour": ("first budget exhaustion (h)", True),
    "revenue": ("revenue", True),
    "fill_rate": ("fill rate", True),
    "pacing_error": ("pacing error (vs traffic that arrived)", False),
    "bot_impressions": ("bot impressions", False),
    "bot_clicks": ("bot clicks", False),
    "bot_spend": ("spend on bots", False),
    "bot_spend_share": ("share of spend on bots", False),
    "consent_violations": ("consent violations", False),
    "gdpr_personalised_share": ("GDPR requests personalised", True),
    "latency_p50_us": ("decision latency p50 (us)", False),
    "latency_p99_us": ("decision latency p99 (us)", False),
}
"""Metric key -> (label, whether higher is better; None where neither is).

These are the metrics of the summary, the tidy table and the report, in that order.
:attr:`ArmRun.metrics` also keeps two older keys for code written against them, outside
the summary: ``ctr`` (clicks per ad shown, every format and bots included) and
``spend_vs_budget`` (the same number as ``delivery``)."""

VALUE_METRICS: tuple[str, ...] = (
    "advertiser_value",
    "roas",
    "advertiser_surplus",
    "value_at_matched_spend",
)
"""The metrics of advertiser value, shown beside each arm's delivery (spend / budget):
value is only comparable between arms that deliver alike."""

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


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def value_at_spend(
    campaign: NDArray[np.int64],
    charge_micros: NDArray[np.int64],
    value: NDArray[np.float64],
    spend_micros: NDArray[np.int64],
) -> NDArray[np.float64]:
    """Each campaign's value for the first ``spend_micros[c]`` of its money.

    The impressions (``campaign``, ``charge_micros``, ``value``, one entry each, in the
    order they were bought) are walked campaign by campaign: an impression counts fully
    when the campaign's spend before it plus its charge is at most the limit, pro rata
    when it crosses the limit, not at all after it; an impression charged nothing counts
    when the spend before it is below the limit. A limit at or above the campaign's
    whole spend counts every impression of the campaign.

    Parameters
    ----------
    campaign : int array
        Each impression's campaign row (0 .. ``len(spend_micros) - 1``).
    charge_micros : int array
        What each impression was charged, micro-units.
    value : float array
        The advertiser value each impression brought.
    spend_micros : int array
        The spend limit per campaign, micro-units.

    Returns
    -------
    float array
        The value per campaign.

    Examples
    --------
    >>> import numpy as np
    >>> value_at_spend(np.array([0, 0, 0]), np.array([100, 200, 300]),
    ...                np.array([1.0, 2.0, 3.0]), np.array([250]))
    array([2.5])
    """
    n = len(spend_micros)
    out = np.zeros(n)
    charge = np.asarray(charge_micros, dtype=np.int64)
    for c in range(n):
        rows = np.flatnonzero(campaign == c)
        if rows.size == 0:
            continue
        q, v = charge[rows], value[rows]
        limit = int(spend_micros[c])
        if limit >= int(q.sum()):
            out[c] = float(v.sum())
            continue
        before = np.cumsum(q) - q
        share = np.where(
            q > 0,
            np.clip((limit - before) / np.where(q > 0, q, 1), 0.0, 1.0),
            (before < limit).astype(np.float64),
        )
        out[c] = float((v * share).sum())
    return out


def pacing_error(
    hourly_spend_micros: NDArray[np.float64],
    daily_micros: NDArray[np.float64],
    arrived: NDArray[np.float64],
) -> float:
    """The mean, over hours and campaigns, of ``|spent share - arrived share|``.

    ``hourly_spend_micros[h, c]`` is campaign ``c``'s spend by the end of hour ``h``;
    its spent share is that over its daily budget. ``arrived[h]`` is the traffic that
    arrived in hour ``h``; the arrived share by the end of hour ``h`` is its cumulative
    sum over the day's total: the share of the budget a campaign spending evenly over
    the traffic that actually came would have spent by then. Campaigns with no budget
    are left out.

    Examples
    --------
    >>> import numpy as np
    >>> spend = np.full((24, 1), 100.0)   # the whole budget spent in the first hour
    >>> arrived = np.ones(24)             # flat traffic: (23 + 22 + ... + 0) / 24 / 24
    >>> round(pacing_error(spend, np.array([100.0]), arrived), 4)
    0.4792
    """
    total = float(np.sum(arrived))
    if total <= 0:
        return 0.0
    share = np.cumsum(arrived) / total
    keep = daily_micros > 0
    if not keep.any():
        return 0.0
    frac = hourly_spend_micros[:, keep] / daily_micros[keep]
    return float(np.mean(np.abs(frac - share[:, None])))


@dataclass(frozen=True)
class ArmRun:
    """One arm on one seed's day.

    Attributes
    ----------
    arm, seed : str, int
    metrics : dict of str to float
        Every metric of :data:`METRICS` (and the older keys it names).
    counts : dict of str to float
        The raw tallies the metrics come from (shown, clicks, completions ... split by
        human and bot traffic and by format; see ``docs/simulator.md``).
    campaign_ids : tuple of str
    daily_budget, spend, value : float arrays
        Per campaign: daily budget, spend and advertiser value (currency units).
    exhausted_hour : float array
        Per campaign, the hour of the day its budget ran out (NaN if it did not).
    hourly_spend : float array, shape (24, campaigns)
        Cumulative spend per campaign at the end of each hour.
    planned : float array, shape (24,)
        The share of the day's human requests that had arrived by the end of each hour:
        the spend plan pacing error is measured against.
    pacing_curve : float array, shape (24,)
        The cumulative share of the scenario's diurnal traffic curve: the traffic it
        expects. The pacing controllers are not given it; they learn their own
        forecast from the requests they see.
    hourly : dict of str to float array
        Per hour: ``requests``, ``human_requests``, ``shown``, ``price_sum`` (CPM) over
        all traffic; ``av_shown``, ``completes``, ``skips`` over human audio and video;
        ``human_shown`` and ``affinity_sum`` (the true affinity of each ad shown to a
        human, at the time it was shown) over human traffic.
    latency_us : float array
        Each request's decision time (microseconds).
    agent_us : dict of str to list of float
        Each agent's time per traced decision (microseconds).
    shown_request, shown_slot, shown_ad, shown_campaign : int arrays
        Per impression shown, in order: its request index, its slot index (into the
        market's per-slot arrays), the catalog ad (index into ``Market.ad_truth``) and
        the campaign row.
    shown_charge_micros : int array
        What the ledger charged for each impression.
    shown_value : float array
        The advertiser value each impression brought.
    shown_click, shown_complete, shown_skip : bool arrays
        What the listener (or bot) did with each impression.
    shown_duration : float array
        The length of the cut each impression played (0 for display).
    shown_bid : float array
        The winner's effective bid for each impression (CPM), to set beside its
        campaign's ``max_bid``.
    """

    arm: str
    seed: int
    metrics: dict[str, float]
    counts: dict[str, float]
    campaign_ids: tuple[str, ...]
    daily_budget: NDArray[np.float64]
    spend: NDArray[np.float64]
    value: NDArray[np.float64]
    exhausted_hour: NDArray[np.float64]
    hourly_spend: NDArray[np.float64]
    planned: NDArray[np.float64]
    pacing_curve: NDArray[np.float64]
    hourly: dict[str, NDArray[np.float64]]
    latency_us: NDArray[np.float64]
    agent_us: dict[str, list[float]]
    shown_request: NDArray[np.int64]
    shown_slot: NDArray[np.int64]
    shown_ad: NDArray[np.int64]
    shown_campaign: NDArray[np.int64]
    shown_charge_micros: NDArray[np.int64]
    shown_value: NDArray[np.float64]
    shown_click: NDArray[np.bool_]
    shown_complete: NDArray[np.bool_]
    shown_skip: NDArray[np.bool_]
    shown_duration: NDArray[np.float64]
    shown_bid: NDArray[np.float64]

    @property
    def delivery(self) -> NDArray[np.float64]:
        """Per campaign, spend over daily budget (0 for a campaign without budget)."""
        budget = self.daily_budget
        out: NDArray[np.float64] = np.where(
            budget > 0, self.spend / np.where(budget > 0, budget, 1.0), 0.0
        )
        return out

    @property
    def spend_micros(self) -> NDArray[np.int64]:
        """Per campaign, spend in micro-units (exact)."""
        out: NDArray[np.int64] = np.rint(self.hourly_spend[-1] * 1e6).astype(np.int64)
        return out

    def value_at(self, spend_micros: NDArray[np.int64]) -> float:
        """The value the campaigns got for the first ``spend_micros[c]`` of their money
        (see :func:`value_at_spend`), summed over campaigns."""
        per = value_at_spend(
            self.shown_campaign, self.shown_charge_micros, self.shown_value, spend_micros
        )
        return float(per.sum())

    @classmethod
    def build(
        cls,
        *,
        arm: str,
        seed: int,
        scenario: Scenario,
        counts: dict[str, float],
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
        shown: dict[str, NDArray[Any]],
    ) -> ArmRun:
        """Compute the metrics (see ``docs/simulator.md``) from a day's tallies."""
        spend = spend_micros / 1e6
        daily = daily_micros / 1e6
        weights = np.asarray(scenario.diurnal, dtype=np.float64)
        curve = np.cumsum(weights) / weights.sum()
        arrived = hourly.get("human_requests", hourly["requests"])
        if float(np.sum(arrived)) <= 0:
            arrived = hourly["requests"]
        total = float(np.sum(arrived))
        planned = np.cumsum(arrived) / total if total > 0 else curve
        n = counts
        spend_total = int(spend_micros.sum()) / 1e6  # one rounding: exact integer sum
        value_total = float(value.sum())
        budget_total = float(daily.sum())
        delivery = np.where(daily > 0, spend / np.where(daily > 0, daily, 1.0), 0.0)
        early = int(np.sum(exhausted_hour < 0.9 * 24))
        first = float(np.nanmin(exhausted_hour)) if np.any(~np.isnan(exhausted_hour)) else 24.0
        h_av = n["human_audio"] + n["human_video"]
        metrics = {
            "relevance": _ratio(n["human_affinity"], n["human_shown"]),
            "ctr_human": _ratio(n["human_display_clicks"], n["human_display"]),
            "completion_rate": _ratio(
                n["human_audio_completes"] + n["human_video_completes"], h_av
            ),
            "completion_rate_audio": _ratio(n["human_audio_completes"], n["human_audio"]),
            "completion_rate_video": _ratio(n["human_video_completes"], n["human_video"]),
            "skip_rate": _ratio(n["human_av_skips"], h_av),
            "seconds_listened": float(n["seconds_listened"]),
            "advertiser_value": value_total,
            "spend": spend_total,
            "roas": _ratio(value_total, spend_total),
            "advertiser_surplus": value_total - spend_total,
            # Matched to itself until compared with other arms (see match_spend).
            "value_at_matched_spend": value_total,
            "delivery": _ratio(spend_total, budget_total),
            "delivery_min": float(delivery[daily > 0].min()) if np.any(daily > 0) else 0.0,
            "campaigns_out_early": float(early),
            "first_exhaustion_hour": first,
            "revenue": spend_total,
            "fill_rate": _ratio(n["shown"], n["slots"]),
            "pacing_error": pacing_error(hourly_spend_micros, daily_micros, arrived),
            "bot_impressions": float(n["bot_shown"]),
            "bot_clicks": float(n["bot_clicks"]),
            "bot_spend": bot_spend_micros / 1e6,
            "bot_spend_share": _ratio(bot_spend_micros, float(spend_micros.sum())),
            "consent_violations": float(n["consent_violations"]),
            "gdpr_personalised_share": _ratio(n["gdpr_personalised"], n["gdpr_requests"]),
            "latency_p50_us": float(np.percentile(latency_us, 50)) if latency_us.size else 0.0,
            "latency_p99_us": float(np.percentile(latency_us, 99)) if latency_us.size else 0.0,
            # Older keys, outside the summary.
            "ctr": _ratio(n["clicks"], n["shown"]),
            "spend_vs_budget": _ratio(spend_total, budget_total),
        }
        return cls(
            arm=arm,
            seed=seed,
            metrics=metrics,
            counts=dict(counts),
            campaign_ids=tuple(campaign_ids),
            daily_budget=daily,
            spend=spend,
            value=value,
            exhausted_hour=exhausted_hour,
            hourly_spend=hourly_spend_micros / 1e6,
            planned=planned,
            pacing_curve=curve,
            hourly=hourly,
            latency_us=latency_us,
            agent_us=agent_us,
            shown_request=np.asarray(shown["request"], dtype=np.int64),
            shown_slot=np.asarray(shown["slot"], dtype=np.int64),
            shown_ad=np.asarray(shown["ad"], dtype=np.int64),
            shown_campaign=np.asarray(shown["campaign"], dtype=np.int64),
            shown_charge_micros=np.asarray(shown["charge"], dtype=np.int64),
            shown_value=np.asarray(shown["value"], dtype=np.float64),
            shown_click=np.asarray(shown["click"], dtype=np.bool_),
            shown_complete=np.asarray(shown["complete"], dtype=np.bool_),
            shown_skip=np.asarray(shown["skip"], dtype=np.bool_),
            shown_duration=np.asarray(shown["duration"], dtype=np.float64),
            shown_bid=np.asarray(shown["bid"], dtype=np.float64),
        )


def match_spend(runs: Sequence[ArmRun]) -> list[ArmRun]:
    """``runs`` with ``value_at_matched_spend`` compared across arms, seed by seed.

    On each seed, every campaign's matched spend is the least any of the runs spent on
    it; a run's value at matched spend is the sum over campaigns of the value the
    campaign got for its first matched-spend of money (:func:`value_at_spend`). Arms
    that spend alike are compared on equal money; with one run per seed it is the run's
    advertiser value.
    """
    out = list(runs)
    by_seed: dict[int, list[int]] = {}
    for k, r in enumerate(runs):
        by_seed.setdefault(r.seed, []).append(k)
    for rows in by_seed.values():
        spent = np.min([runs[k].spend_micros for k in rows], axis=0)
        for k in rows:
            r = runs[k]
            out[k] = replace(r, metrics={**r.metrics, "value_at_matched_spend": r.value_at(spent)})
    return out


@dataclass(frozen=True)
class SummaryRow:
    """One metric: each arm's mean over seeds, and the first arm's uplift over the
    reference arm with a 95 % confidence interval across seeds (Student t; None with a
    single seed). For a value metric (:data:`VALUE_METRICS`), ``delivery`` holds each
    arm's mean delivery, the constraint the value is read against; None otherwise."""

    metric: str
    label: str
    higher_is_better: bool | None
    means: dict[str, float]
    uplift: float | None
    ci_low: float | None
    ci_high: float | None
    delivery: dict[str, float] | None = None


@dataclass(frozen=True)
class SimResults:
    """Every arm's run on every seed of one scenario.

    ``arms`` are canonical arm names (``naive``, never its alias ``baseline``);
    :meth:`run` and ``reference`` arguments accept the alias too.
    """

    scenario: Scenario
    runs: list[ArmRun]
    arms: tuple[str, ...]

    @property
    def seeds(self) -> list[int]:
        return sorted({r.seed for r in self.runs})

    def _arm(self, arm: str) -> str:
        if arm in self.arms:
            return arm
        from .runner import ARMS

        if arm in ARMS and ARMS[arm].name in self.arms:
            return ARMS[arm].name
        raise KeyError(f"arm {arm!r} is not one of {list(self.arms)}")

    def run(self, arm: str, seed: int) -> ArmRun:
        """The run of ``arm`` (a name or an alias) on ``seed``."""
        name = self._arm(arm)
        return next(r for r in self.runs if r.arm == name and r.seed == seed)

    def table(self) -> list[dict[str, Any]]:
        """A tidy table: one row per (arm, seed, metric) of :data:`METRICS`, as
        ``{"scenario", "arm", "seed", "metric", "value"}`` records, for data frames."""
        return [
            {
                "scenario": self.scenario.name,
                "arm": r.arm,
                "seed": r.seed,
                "metric": k,
                "value": float(r.metrics[k]),
            }
            for r in self.runs
            for k in METRICS
        ]

    def write_json(self, path: str | Path) -> Path:
        """Write :meth:`table` to ``path`` as a JSON list of records; a value that is
        not finite (none of the built-in metrics is) is written as ``null``."""
        rows = [
            {**row, "value": row["value"] if math.isfinite(row["value"]) else None}
            for row in self.table()
        ]
        out = Path(path)
        out.write_text(json.dumps(rows, allow_nan=False, indent=1) + "\n", encoding="utf-8")
        return out

    def references(self, reference: str | None = None) -> list[str]:
        """The arms the first arm is compared against: ``reference`` if given, else
        every other arm."""
        if reference is not None:
            return [self._check_reference(reference)]
        return list(self.arms[1:])

    def _check_reference(self, reference: str) -> str:
        try:
            return self._arm(reference)
        except KeyError:
            raise ValueError(
                f"reference arm {reference!r} is not one of {list(self.arms)}"
            ) from None

    def summary(self, reference: str | None = None) -> list[SummaryRow]:
        """Per metric, each arm's mean and the first arm's relative uplift over
        ``reference`` (the second arm by default) with a 95 % interval across seeds."""
        ours = self.arms[0]
        if reference is not None:
            ref: str | None = self._check_reference(reference)
        else:
            ref = self.arms[1] if len(self.arms) > 1 else None
        delivery = {
            a: float(np.mean([self.run(a, s).metrics["delivery"] for s in self.seeds]))
            for a in self.arms
        }
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
                    delivery=dict(delivery) if key in VALUE_METRICS else None,
                )
            )
        return rows

    def format(self, reference: str | None = None) -> str:
        """The summary as a text table: each arm's mean, then the first arm's uplift
        over ``reference`` (over every other arm by default). A value metric's cell
        carries the arm's delivery after ``@``."""
        refs = self.references(reference)
        ours = self.arms[0]
        summaries = {ref: self.summary(ref) for ref in refs}
        rows = summaries[refs[0]] if refs else self.summary()
        head = (
            f"scenario {self.scenario.name}: {self.scenario.requests} requests per day, "
            f"seeds {', '.join(map(str, self.seeds))}"
        )
        cols = list(self.arms)
        lines = [head, ""]
        width = max(len(r.label) for r in rows)
        header = f"{'metric':<{width}}  " + "  ".join(f"{a:>16}" for a in cols)
        for ref in refs:
            header += f"  {ours + ' vs ' + ref:>28}"
        lines += [header, "-" * len(header)]
        for i, r in enumerate(rows):
            cells = []
            for a in cols:
                cell = _num(r.means[a])
                if r.delivery is not None:
                    cell += f" @{r.delivery[a]:.0%}"
                cells.append(f"{cell:>16}")
            line = f"{r.label:<{width}}  " + "  ".join(cells)
            for ref in refs:
                s = summaries[ref][i]
                if s.uplift is None:
                    cell = "n/a"
                else:
                    cell = f"{s.uplift:+.1%}"
                    if s.ci_low is not None and s.ci_high is not None:
                        cell += f" [{s.ci_low:+.1%}, {s.ci_high:+.1%}]"
                line += f"  {cell:>28}"
            lines.append(line)
        lines.append("")
        lines.append(
            "@ is the arm's delivery (spend / daily budget, all campaigns): value is "
            "comparable only between arms that deliver alike."
        )
        lines.append(
            "Delivery per campaign (spend / daily budget, mean over seeds), and the hour "
            "its budget ran out (first seed; - if it did not):"
        )
        for a in cols:
            runs = [self.run(a, s) for s in self.seeds]
            shares = np.mean([r.delivery for r in runs], axis=0)
            out_at = runs[0].exhausted_hour
            per_campaign = " ".join(
                f"{cid}:{x:4.0%}@{'-' if np.isnan(h) else f'{h:.1f}h'}"
                for cid, x, h in zip(runs[0].campaign_ids, shares, out_at, strict=True)
            )
            lines.append(f"  {a:<10} {per_campaign}")
        return "\n".join(lines)


def _num(x: float) -> str:
    if x == 0 or (abs(x) >= 0.01 and abs(x) < 10_000):
        return f"{x:.4g}"
    return f"{x:.3e}"
