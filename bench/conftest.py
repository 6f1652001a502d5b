"""Shared benchmark plumbing: every headline benchmark times adcore and its competitor in
the same run; at the end of the session the ratios are printed (competitor / adcore, so a
number above 1 means adcore is that many times faster)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

_MEDIANS: dict[str, dict[str, float]] = {}


@pytest.fixture
def timed(benchmark: Any) -> Callable[..., Any]:
    """``timed(group, name, fn, *args)``: benchmark ``fn(*args)`` and remember its median
    under ``group``/``name``. Name the adcore side ``"adcore"``."""

    def run(group: str, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        benchmark.group = group
        result = benchmark(fn, *args)
        if benchmark.stats is not None:  # None under --benchmark-disable (a smoke run)
            _MEDIANS.setdefault(group, {})[name] = float(benchmark.stats.stats.median)
        return result

    return run


def record_median(group: str, name: str, seconds: float) -> None:
    """Record a median measured outside pytest-benchmark (e.g. a percentile run)."""
    _MEDIANS.setdefault(group, {})[name] = seconds


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _MEDIANS:
        return
    tr = terminalreporter
    tr.section("adcore versus competitors (median time ratio, >1 means adcore is faster)")
    for group, medians in sorted(_MEDIANS.items()):
        ours = medians.get("adcore")
        for name, median in sorted(medians.items()):
            if name == "adcore" or ours is None or ours <= 0:
                continue
            tr.write_line(
                f"{group:<40} {name:<24} {median * 1e6:10.3f} us / adcore "
                f"{ours * 1e6:10.3f} us = {median / ours:6.2f}x"
            )
