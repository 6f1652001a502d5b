"""Training the learning agents in the simulator (``adcore.sim.train``, ``adcore
train``): episodes are days of one world, models carry over between them through the
artifact, and the result loads into an engine."""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np
import pytest

from adcore import Engine
from adcore.artifacts import ARTIFACT_FILE, ModelArtifact
from adcore.cli import main
from adcore.errors import InvalidInput
from adcore.learn import FTRLState
from adcore.sim import train
from adcore.sim.baseline import learned_agents
from adcore.sim.market import Market
from adcore.sim.scenario import SCENARIOS

QUICK = msgspec.structs.replace(SCENARIOS["quick"], requests=1500)


def _clock(folder: Path) -> int:
    artifact = msgspec.msgpack.decode((folder / ARTIFACT_FILE).read_bytes(), type=ModelArtifact)
    return msgspec.msgpack.decode(artifact.models["relevance"].data, type=FTRLState).clock


def test_a_later_day_keeps_the_world_and_draws_new_traffic() -> None:
    day0, same, day1 = Market(QUICK, 3), Market(QUICK, 3, day=0), Market(QUICK, 3, day=1)
    snap0, snap1 = day0.catalog.snapshot, day1.catalog.snapshot
    assert snap0.ad_ids == snap1.ad_ids
    np.testing.assert_array_equal(snap0.ad_embedding, snap1.ad_embedding)
    np.testing.assert_array_equal(day0.uniforms, same.uniforms)
    assert day0.request(0) == same.request(0)
    assert not np.array_equal(day0.uniforms, day1.uniforms)


def test_models_carry_over_between_episodes(tmp_path: Path) -> None:
    one = train(QUICK, episodes=1, out=tmp_path / "one", progress=False)
    two = train(QUICK, episodes=2, out=tmp_path / "two", progress=False)
    assert len(one) == 1 and len(two) == 2
    assert one[0] == two[0]  # the first day is the same day, from the same start
    first = _clock(tmp_path / "one")
    assert first > 0 and _clock(tmp_path / "two") > first
    # Resuming from an artifact continues from it.
    train(QUICK, episodes=1, out=tmp_path / "one", progress=False)
    assert _clock(tmp_path / "one") > first
    engine = Engine(Market(QUICK, 0).catalog, agents=learned_agents())
    engine.load_models(tmp_path / "two")
    assert engine.agent_state("relevance").model.updates == _clock(tmp_path / "two")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"episodes": 0}, "episodes"), ({"episodes": 1, "arm": "nope"}, "arm")],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        train(QUICK, out=tmp_path, progress=False, **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_an_arm_without_models_cannot_be_trained(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no agent with a model") as err:
        train(QUICK, episodes=1, out=tmp_path, arm="monolith", progress=False)
    assert err.value.field == "arm" and not list(tmp_path.iterdir())


def test_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "models"
    argv = ["train", "--scenario", "quick", "--episodes", "2", "--requests", "500"]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "episode 1/2:" in printed and "episode 2/2:" in printed
    assert (out / ARTIFACT_FILE).exists()
    assert main([*argv, "--out", str(tmp_path / "other"), "--arm", "monolith"]) == 2
    assert "no agent with a model" in capsys.readouterr().err
    # An artifact that does not fit the arm is refused before a day is run.
    assert main([*argv, "--out", str(out), "--arm", "monolith-learned"]) == 2
    assert "saved by BanditCreativeAgent" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["train", "--episodes", "0", "--out", str(out)])
    assert stop.value.code == 2
