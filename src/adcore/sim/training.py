"""Training learning agents in the simulator: several days of one world, the models
carried from day to day through the engine's model artifact (:func:`train`, the
``adcore train`` command)."""

from __future__ import annotations

import os
import sys
from typing import TextIO

import msgspec

from ..agents import Agent
from ..artifacts import ARTIFACT_FILE
from ..errors import InvalidInput
from .market import Market
from .runner import ARMS, run_arm
from .scenario import Scenario, load_scenario

__all__ = ["TRAIN_METRICS", "train"]

TRAIN_METRICS = ("relevance", "ctr_human", "completion_rate", "skip_rate", "advertiser_value")
"""What :func:`train` reports per episode."""


def train(
    scenario: Scenario | str,
    *,
    episodes: int,
    out: str | os.PathLike[str],
    arm: str = "learned",
    seed: int = 0,
    requests: int | None = None,
    progress: TextIO | None | bool = True,
) -> list[dict[str, float]]:
    """Train an arm's learning agents in the simulator over ``episodes`` days and save
    their models to ``out`` (:meth:`adcore.Engine.save_models`).

    Every episode is one day of the same world (``Market(scenario, seed, day=e)``: the
    same catalog and listeners, another day's traffic and responses), decided by a new
    engine that starts from the models the previous episode saved and goes on learning
    online; the last episode's models stay in ``out``, ready for
    :meth:`adcore.Engine.load_models`.

    Parameters
    ----------
    scenario : Scenario or str
        A scenario, a built-in name, or a ``.toml``/``.json`` file.
    episodes : int
        Days to train (at least 1).
    out : path
        The artifact directory (created if missing; an artifact already there is the
        starting point).
    arm : str
        An arm whose agents have models (default ``learned``).
    seed : int
        The world's seed.
    requests : int, optional
        Override the scenario's number of requests per day.
    progress : bool or text stream
        One line per episode with :data:`TRAIN_METRICS` (on standard error by default).

    Returns
    -------
    list of dict
        Per episode, :data:`TRAIN_METRICS` of that day.

    Raises
    ------
    InvalidInput
        Bad ``episodes`` or ``arm``, an arm without models, or an unusable artifact in
        ``out``.
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise InvalidInput(f"episodes must be an integer >= 1, got {episodes!r}", "episodes")
    if not isinstance(arm, str) or arm not in ARMS:
        raise InvalidInput(f"unknown arm {arm!r}; known: {sorted(ARMS)}", "arm")
    if all(type(a).dump_model is Agent.dump_model for a in ARMS[arm].agents()):
        raise InvalidInput(f"arm {arm!r} has no agent with a model to train", "arm")
    sc = load_scenario(scenario) if isinstance(scenario, str) else scenario.validate()
    if requests is not None:
        sc = msgspec.structs.replace(sc, requests=int(requests)).validate()
    stream: TextIO | None = sys.stderr if progress is True else (progress or None)
    folder = os.fspath(out)
    start = folder if os.path.exists(os.path.join(folder, ARTIFACT_FILE)) else None
    history = []
    for episode in range(episodes):
        run = run_arm(Market(sc, seed, day=episode), arm, load_models=start, save_models=folder)
        start = folder
        row = {name: float(run.metrics[name]) for name in TRAIN_METRICS}
        history.append(row)
        if stream is not None:
            cells = "  ".join(f"{name} {value:.4g}" for name, value in row.items())
            print(f"episode {episode + 1}/{episodes}: {cells}", file=stream, flush=True)
    return history
