"""An HTML report of a simulation: the summary table, spend against budget, and plots.

:func:`write_report` writes one self-contained page, ``report.html``, and the plots it
embeds as PNG files next to it. Plotting needs matplotlib, an optional dependency
(``pip install 'adcore[plots]'``); it is imported only when a report is written, and only
through :class:`matplotlib.figure.Figure` and the Agg canvas, so no global matplotlib state
(pyplot, the default backend) is touched.

Examples
--------
>>> import tempfile
>>> from adcore.sim import simulate
>>> from adcore.sim.report import write_report
>>> results = simulate("quick", requests=2000, seeds=2, progress=False)
>>> with tempfile.TemporaryDirectory() as tmp:
...     page = write_report(results, tmp)
...     print(page.name, sorted(p.name for p in page.parent.glob("*.png")))
report.html ['agent_latency.png', 'engagement.png', 'latency.png', 'prices.png',
'relevance.png', 'spend.png']
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ..errors import AdcoreError
from .results import ArmRun, SimResults, SummaryRow

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["ReportError", "write_report"]

_HOURS = np.arange(24, dtype=np.float64)
_ARM_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
_MAX_LEGEND_CAMPAIGNS = 20
_DPI = 100
_MIN_P99_SAMPLES = 100
_MIN_SHOWN = 10


class ReportError(AdcoreError, ImportError):
    """A report cannot be drawn because matplotlib, which plotting needs, is missing.

    Install it with ``pip install 'adcore[plots]'``. Being an :class:`ImportError` too,
    it is caught by code that treats optional dependencies the usual way.
    """


def write_report(
    results: SimResults, directory: str | Path, *, reference: str | None = None
) -> Path:
    """Write an HTML report of ``results`` into ``directory``.

    The page, ``report.html``, holds the scenario, the seeds, the summary table (each
    arm's mean per metric, with its delivery beside every value metric, and the first
    arm's uplift over each reference arm with its 95 % interval, green where the first
    arm is better and red where it is worse), each campaign's spend and delivery against
    its daily budget, and six plots: cumulative spend against the traffic that arrived,
    skip and completion rates (human traffic) by hour, relevance (the mean true affinity
    of the ads shown to humans) by hour, clearing prices by hour,
    per-agent latency, and the distribution of decision latency. Each plot is also
    written as a PNG file next to the page, and embedded in it (base64), so the page
    stands alone.

    Parameters
    ----------
    results : SimResults
        What :func:`~adcore.sim.simulate` returned.
    directory : str or Path
        Where to write; created (with its parents) if missing. Existing files named
        like the report's are overwritten.
    reference : str, optional
        The one arm the first arm is compared with (a name or an alias); by default it
        is compared with every other arm, one column each.

    Returns
    -------
    Path
        The path of ``report.html``.

    Raises
    ------
    ReportError
        matplotlib is not installed.
    ValueError
        ``reference`` is not one of the arms of ``results``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from adcore.sim import simulate
    >>> results = simulate("quick", requests=2000, seeds=1, progress=False)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     page = write_report(results, Path(tmp) / "quick")
    ...     page.read_text(encoding="utf-8").count("data:image/png;base64,")
    6
    """
    _require_matplotlib()
    refs = results.references(reference)  # ValueError for an arm not in the results
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    figures = [
        (
            "spend.png",
            "Cumulative spend against the traffic that arrived",
            "Each campaign's spend so far as a fraction of its daily budget (mean over "
            "seeds); the dashed line is the share of the day's human requests that had "
            "arrived (what pacing error is measured against), the dotted line the curve "
            "the pacing controllers were given.",
            _plot_spend(results),
        ),
        (
            "engagement.png",
            "Skip and completion rates by hour",
            "Skips and completes per audio/video ad shown to human listeners (bots are "
            "reported apart), over all seeds; hours with "
            f"fewer than {_MIN_SHOWN} audio/video ads shown are left blank (too few to "
            "give a rate).",
            _plot_engagement(results),
        ),
        (
            "relevance.png",
            "Relevance by hour",
            "Mean true affinity (ground truth the engine never sees: the cosine of the "
            "listener's true interest, at the time, and the ad's) of the ads shown to human "
            "listeners, over all seeds; hours with fewer than "
            f"{_MIN_SHOWN} of them are left blank. When the scenario's tastes shift, a "
            "dashed line marks the hour and the curves show how fast each arm recovers.",
            _plot_relevance(results),
        ),
        (
            "prices.png",
            "Clearing prices by hour",
            "Mean clearing price (CPM) of the ads shown in each hour, over all seeds; "
            f"hours with fewer than {_MIN_SHOWN} ads shown are left blank.",
            _plot_prices(results),
        ),
        (
            "agent_latency.png",
            "Latency per agent",
            "Median and 99th percentile of each agent's time per decision, from traced "
            "decisions (a sample of the requests); the maximum instead of the 99th "
            f"percentile when an arm has fewer than {_MIN_P99_SAMPLES} of them.",
            _plot_agent_latency(results),
        ),
        (
            "latency.png",
            "Decision latency",
            "Distribution of the time of one whole decision, over all requests and seeds.",
            _plot_latency(results),
        ),
    ]
    sections = []
    for name, title, caption, png in figures:
        (out / name).write_bytes(png)
        data = base64.b64encode(png).decode("ascii")
        sections.append(
            f"<h2>{_e(title)}</h2>\n<figure>\n"
            f'<img src="data:image/png;base64,{data}" alt="{_e(title)}">\n'
            f"<figcaption>{_e(caption)} (<code>{_e(name)}</code>)</figcaption>\n</figure>"
        )
    page = _page(results, refs, sections)
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def _require_matplotlib() -> None:
    try:
        # The top-level import first: it fails when matplotlib is absent (or blocked)
        # even if some of its submodules are already in sys.modules.
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError as exc:
        raise ReportError(
            "writing a simulation report needs matplotlib: pip install 'adcore[plots]'"
        ) from exc


# ---------------------------------------------------------------------------- HTML


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em;
       color: #222; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #888; }
td.good { background: #c8e6c9; } td.bad { background: #ffcdd2; }
td.good.weak { background: #edf7ee; } td.bad.weak { background: #fdeeef; }
.note { color: #555; font-size: 0.9em; }
figure { margin: 1em 0; } figure img { max-width: 100%; }
figcaption { color: #555; font-size: 0.9em; }
.constraint { color: #666; font-size: 0.8em; white-space: nowrap; }
.bar { display: inline-block; height: 0.7em; background: #1f77b4; vertical-align: middle; }
"""


def _page(results: SimResults, refs: Sequence[str], sections: Sequence[str]) -> str:
    sc = results.scenario
    seeds = ", ".join(str(s) for s in results.seeds)
    arms = ", ".join(results.arms)
    compare = f"{results.arms[0]} against {', '.join(refs)}" if refs else "none (a single arm)"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>adcore simulation: {_e(sc.name)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>Simulation report: {_e(sc.name)}</h1>",
        f"<p>{_e(sc.description)}</p>" if sc.description else "",
        "<ul>",
        f"<li>{sc.requests:,} requests per simulated day, {sc.advertisers} advertisers</li>",
        f"<li>seeds: {_e(seeds)}</li>",
        f"<li>arms: {_e(arms)}; comparison: {_e(compare)}</li>",
        "</ul>",
        "<h2>Summary</h2>",
        _summary_table(results, refs),
        "<h2>Delivery: spend against daily budget</h2>",
        _spend_table(results),
        *sections,
        "</body>",
        "</html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _summary_table(results: SimResults, refs: Sequence[str]) -> str:
    ours = results.arms[0]
    summaries = [results.summary(ref) for ref in refs]
    rows = summaries[0] if summaries else results.summary()
    head = "<th>metric</th>" + "".join(f"<th>{_e(a)}</th>" for a in results.arms)
    for ref in refs:
        head += f"<th>{_e(ours)} vs {_e(ref)} (95% CI)</th>"
    body = []
    for i, r in enumerate(rows):
        cells = f"<td>{_e(r.label)}</td>"
        for a in results.arms:
            text = _e(_num(r.means[a]))
            if r.delivery is not None:
                text += f' <span class="constraint">delivery {r.delivery[a]:.0%}</span>'
            cells += f"<td>{text}</td>"
        for summary in summaries:
            cls, text = _uplift_cell(summary[i])
            attr = f' class="{cls}"' if cls else ""
            cells += f"<td{attr}>{_e(text)}</td>"
        body.append(f'<tr id="metric-{_e(r.metric)}">{cells}</tr>')
    table = (
        '<table class="summary">\n<thead><tr>'
        + head
        + "</tr></thead>\n<tbody>\n"
        + "\n".join(body)
        + "\n</tbody>\n</table>"
    )
    note = (
        '<p class="note">Engagement (relevance, CTR, completion and skip rates, seconds '
        "listened) is measured on human traffic only; bots are reported apart. Beside "
        "each value metric, each arm's delivery (spend / daily budget): value is "
        "comparable only between arms that deliver alike.</p>"
    )
    if not refs:
        return table + "\n" + note
    others = ", ".join(_e(ref) for ref in refs)
    note += (
        f'\n<p class="note">Means over {len(results.seeds)} seed(s). The last '
        f"column{'s are' if len(refs) > 1 else ' is'} the relative change of {_e(ours)} "
        f"over {others}, averaged over seeds, with a 95 % Student t interval across "
        f"seeds (none with one seed). Green: better for {_e(ours)}, red: worse, given "
        "whether the metric is better higher or lower (uncoloured where neither is); "
        "pale when the interval includes 0 or there is none; n/a where the reference "
        "is 0.</p>"
    )
    return table + "\n" + note


def _uplift_cell(r: SummaryRow) -> tuple[str, str]:
    if r.uplift is None:
        return "", "n/a"
    text = f"{r.uplift:+.1%}"
    if r.ci_low is not None and r.ci_high is not None:
        text += f" [{r.ci_low:+.1%}, {r.ci_high:+.1%}]"
    if r.uplift == 0 or r.higher_is_better is None:
        return "", text
    good = (r.uplift > 0) == r.higher_is_better
    cls = "good" if good else "bad"
    certain = r.ci_low is not None and r.ci_high is not None and (r.ci_low > 0 or r.ci_high < 0)
    return (cls if certain else f"{cls} weak"), text


def _spend_table(results: SimResults) -> str:
    first = _runs(results, results.arms[0])[0]
    head = "<th>campaign</th><th>daily budget</th>" + "".join(
        f"<th>{_e(a)} spend</th><th>{_e(a)} delivery</th>" for a in results.arms
    )
    spend = {a: np.mean([r.spend for r in _runs(results, a)], axis=0) for a in results.arms}
    budget = np.mean([r.daily_budget for r in _runs(results, results.arms[0])], axis=0)
    body = []
    for i, cid in enumerate(first.campaign_ids):
        cells = f"<td>{_e(cid)}</td><td>{_e(_num(float(budget[i])))}</td>"
        for a in results.arms:
            s = float(spend[a][i])
            share = s / float(budget[i]) if budget[i] > 0 else 0.0
            width = 4.0 * min(max(share, 0.0), 1.0)
            cells += (
                f"<td>{_e(_num(s))}</td>"
                f'<td>{share:.0%} <span class="bar" style="width: {width:.2f}em"></span></td>'
            )
        body.append(f"<tr>{cells}</tr>")
    return (
        '<table class="spend">\n<thead><tr>'
        + head
        + "</tr></thead>\n<tbody>\n"
        + "\n".join(body)
        + "\n</tbody>\n</table>\n"
        '<p class="note">Spend and budgets in currency units, means over seeds; delivery '
        "is spend / daily budget.</p>"
    )


def _num(x: float) -> str:
    if not math.isfinite(x):
        return str(x)
    if x == 0 or 0.01 <= abs(x) < 10_000:
        return f"{x:.4g}"
    return f"{x:.3e}"


# ---------------------------------------------------------------------------- plots


def _runs(results: SimResults, arm: str) -> list[ArmRun]:
    return [results.run(arm, s) for s in results.seeds]


def _arm_colour(i: int) -> str:
    return _ARM_COLOURS[i % len(_ARM_COLOURS)]


def _seeds_text(results: SimResults) -> str:
    seeds = results.seeds
    return f"seed {seeds[0]}" if len(seeds) == 1 else f"{len(seeds)} seeds"


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    return buf.getvalue()


def _hour_axis(ax: Axes, results: SimResults) -> None:
    ax.set_xlim(0, 24)
    ax.set_xticks(range(0, 25, 3))
    ax.set_xlabel("hour of day (UTC)")
    ax.grid(True, alpha=0.3)
    sc = results.scenario
    if sc.spike_end > sc.spike_start:
        ax.axvspan(sc.spike_start, sc.spike_end, color="gold", alpha=0.15, label="live event")
    if sc.bot_share > 0 and (sc.bot_attack_start > 0 or sc.bot_attack_end < 24):
        ax.axvspan(
            sc.bot_attack_start, sc.bot_attack_end, color="grey", alpha=0.15, label="bot attack"
        )
    if sc.drift_strength > 0 and sc.drift_at < 24:
        ax.axvline(sc.drift_at, color="purple", ls="--", lw=1.2, label="tastes shift")


def _ratio(num: NDArray[np.float64], den: NDArray[np.float64]) -> NDArray[np.float64]:
    """``num / den`` elementwise; NaN (a gap in a line plot) where ``den`` is below
    :data:`_MIN_SHOWN` (0 included), where a rate would be noise."""
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den >= max(_MIN_SHOWN, 1))
    return out


def _hourly_sum(results: SimResults, arm: str, key: str) -> NDArray[np.float64]:
    total: NDArray[np.float64] = np.sum([r.hourly[key] for r in _runs(results, arm)], axis=0)
    return total


def _plot_spend(results: SimResults) -> bytes:
    n = len(results.arms)
    fig = _figure(4.6 * n + 1.6, 4.2)
    axes = fig.subplots(1, n, sharey=True, squeeze=False)[0]
    hours = np.concatenate([[0.0], _HOURS + 1.0])  # cumulative spend at each hour's end
    ids = _runs(results, results.arms[0])[0].campaign_ids
    from matplotlib import colormaps

    if len(ids) <= 10:
        palette = [colormaps["tab10"](i) for i in range(10)]
    else:  # tab20 holds ten dark/light pairs: all dark ones first, so neighbours differ
        palette = [colormaps["tab20"](i) for i in (*range(0, 20, 2), *range(1, 20, 2))]
    top = 1.05
    for k, arm in enumerate(results.arms):
        runs = _runs(results, arm)
        fracs = np.mean(
            [
                r.hourly_spend / np.where(r.daily_budget > 0, r.daily_budget, 1.0)[None, :]
                for r in runs
            ],
            axis=0,
        )
        top = max(top, float(np.max(fracs)) * 1.05)
        ax = axes[k]
        for c in range(fracs.shape[1]):
            label = ids[c] if len(ids) <= _MAX_LEGEND_CAMPAIGNS else None
            ax.plot(
                hours,
                np.concatenate([[0.0], fracs[:, c]]),
                color=palette[c % len(palette)],
                lw=1.4,
                label=label,
            )
        arrived = np.concatenate([[0.0], np.mean([r.planned for r in runs], axis=0)])
        ax.plot(hours, arrived, color="black", ls="--", lw=2.0, label="traffic that arrived")
        curve = np.concatenate([[0.0], runs[0].pacing_curve])
        ax.plot(hours, curve, color="grey", ls=":", lw=1.6, label="scenario's expected traffic")
        _hour_axis(ax, results)
        ax.set_title(arm)
        if k == 0:
            ax.set_ylabel("spend / daily budget (cumulative)")
    axes[0].set_ylim(0, top)
    handles, labels = axes[0].get_legend_handles_labels()
    title = "campaign" if len(ids) <= _MAX_LEGEND_CAMPAIGNS else f"{len(ids)} campaigns"
    fig.legend(handles, labels, loc="outside right upper", title=title, fontsize="small")
    mean = ", mean" if len(results.seeds) > 1 else ""
    fig.suptitle(f"Cumulative spend against arrived traffic ({_seeds_text(results)}{mean})")
    return _png(fig)


def _plot_engagement(results: SimResults) -> bytes:
    fig = _figure(11.0, 4.0)
    ax_skip, ax_done = fig.subplots(1, 2, sharey=True)
    for k, arm in enumerate(results.arms):
        av = _hourly_sum(results, arm, "av_shown")
        x = _HOURS + 0.5
        colour = _arm_colour(k)
        ax_skip.plot(
            x,
            _ratio(_hourly_sum(results, arm, "skips"), av),
            marker="o",
            ms=3,
            color=colour,
            label=arm,
        )
        ax_done.plot(
            x,
            _ratio(_hourly_sum(results, arm, "completes"), av),
            marker="o",
            ms=3,
            color=colour,
            label=arm,
        )
    for ax, title in (
        (ax_skip, "skip rate (lower is better)"),
        (ax_done, "completion rate (higher is better)"),
    ):
        _hour_axis(ax, results)
        ax.set_title(title)
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter("{x:.0%}")
    ax_skip.set_ylabel("share of audio/video ads shown to humans")
    ax_done.legend(loc="best", fontsize="small")
    fig.suptitle(f"Listener response by hour ({_seeds_text(results)})")
    return _png(fig)


def _plot_relevance(results: SimResults) -> bytes:
    fig = _figure(8.0, 4.0)
    ax = fig.subplots()
    for k, arm in enumerate(results.arms):
        mean = _ratio(
            _hourly_sum(results, arm, "affinity_sum"), _hourly_sum(results, arm, "human_shown")
        )
        ax.plot(_HOURS + 0.5, mean, marker="o", ms=3, color=_arm_colour(k), label=arm)
    _hour_axis(ax, results)
    ax.set_ylabel("mean true affinity of ads shown to humans")
    ax.legend(loc="best", fontsize="small")
    ax.set_title(f"Relevance by hour ({_seeds_text(results)})")
    return _png(fig)


def _plot_prices(results: SimResults) -> bytes:
    fig = _figure(8.0, 4.0)
    ax = fig.subplots()
    for k, arm in enumerate(results.arms):
        price = _ratio(_hourly_sum(results, arm, "price_sum"), _hourly_sum(results, arm, "shown"))
        ax.plot(_HOURS + 0.5, price, marker="o", ms=3, color=_arm_colour(k), label=arm)
    _hour_axis(ax, results)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("mean clearing price (CPM)")
    ax.legend(loc="best", fontsize="small")
    ax.set_title(f"Auction clearing price by hour ({_seeds_text(results)})")
    return _png(fig)


def _agent_names(results: SimResults) -> list[str]:
    names: list[str] = []
    for r in results.runs:
        names += [a for a in r.agent_us if a not in names]
    return names


def _plot_agent_latency(results: SimResults) -> bytes:
    agents = _agent_names(results)
    n = len(results.arms)
    fig = _figure(4.2 * n + 1.0, 0.32 * max(len(agents), 3) + 1.6)
    axes = fig.subplots(1, n, sharex=True, sharey=True, squeeze=False)[0]
    y = np.arange(len(agents), dtype=np.float64)
    for k, arm in enumerate(results.arms):
        ax = axes[k]
        samples = {
            a: [x for r in _runs(results, arm) for x in r.agent_us.get(a, [])] for a in agents
        }
        p50 = np.array([np.percentile(v, 50) if v else np.nan for v in samples.values()])
        count = max((len(v) for v in samples.values()), default=0)
        # With few samples the 99th percentile is just the largest one: say so.
        q, tail = (99.0, "p99") if count >= _MIN_P99_SAMPLES else (100.0, "max")
        p99 = np.array([np.percentile(v, q) if v else np.nan for v in samples.values()])
        colour = _arm_colour(k)
        ax.barh(y, np.nan_to_num(p99), color=colour, alpha=0.35, label=tail)
        ax.barh(y, np.nan_to_num(p50), color=colour, height=0.5, label="p50 (median)")
        for i in np.flatnonzero(np.isnan(p50)):
            ax.text(0, y[i], " not in this arm", va="center", fontsize="small", color="#777")
        ax.set_title(f"{arm} ({count} traced decisions)")
        ax.set_xlabel("time per decision (µs)")
        ax.grid(True, axis="x", alpha=0.3)
        ax.legend(loc="lower right", fontsize="small")
        if not agents:
            ax.text(
                0.5,
                0.5,
                "no traced decisions",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color="#777",
            )
    axes[0].set_yticks(y, agents)
    axes[0].invert_yaxis()  # plan order top to bottom
    axes[0].set_xlim(left=0)
    fig.suptitle("Latency per agent (traced decisions)")
    return _png(fig)


def _plot_latency(results: SimResults) -> bytes:
    fig = _figure(8.0, 4.0)
    ax = fig.subplots()
    data = {a: np.concatenate([r.latency_us for r in _runs(results, a)]) for a in results.arms}
    positive = np.concatenate([v[v > 0] for v in data.values()])
    if positive.size:
        lo, hi = float(positive.min()), float(positive.max())
        bins = np.geomspace(lo, hi * 1.0001 if hi > lo else lo * 2.0, 60).tolist()
        for k, arm in enumerate(results.arms):
            v = data[arm]
            p50, p99 = np.percentile(v, [50, 99])
            colour = _arm_colour(k)
            ax.hist(
                v[v > 0],
                bins=bins,
                histtype="step",
                lw=1.6,
                color=colour,
                label=f"{arm}: p50 {p50:.0f} µs, p99 {p99:.0f} µs",
            )
            ax.axvline(p50, color=colour, ls="-", lw=0.8, alpha=0.7)
            ax.axvline(p99, color=colour, ls=":", lw=1.2, alpha=0.9)
        ax.set_xscale("log")
        from matplotlib.ticker import LogLocator

        # Plain numbers (20, 50, 100, 200 ...) rather than powers of ten.
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter("{x:g}")
        ax.xaxis.set_minor_formatter("")
        ax.legend(loc="best", fontsize="small")
    ax.set_xlabel("decision latency (µs, log scale); solid line p50, dotted p99")
    ax.set_ylabel("requests")
    ax.grid(True, alpha=0.3)
    ax.set_title(f"Decision latency ({_seeds_text(results)}, all requests)")
    return _png(fig)
