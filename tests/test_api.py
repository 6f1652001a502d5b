"""The public surface: exported names, doctests, no work at import, the CLI."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import adcore

try:
    from tests.conftest import mechanism_variants
except ImportError:  # pytest run without the project root on sys.path
    from conftest import mechanism_variants  # type: ignore[no-redef]

API = Path(__file__).parent / "api.txt"

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(adcore.__path__, "adcore.") if ".__main__" not in m.name
)


def test_public_names_match_the_committed_list() -> None:
    """A change to the public API shows up as a diff of tests/api.txt."""
    lines = []
    for name in [
        "adcore",
        "adcore.auctions",
        "adcore.consent",
        "adcore.ivt",
        "adcore.openrtb",
        "adcore.events",
        "adcore.ledger",
        "adcore.agents",
        "adcore.sim",
        "adcore.learn",
        "adcore.supervisor",
    ]:
        module = importlib.import_module(name)
        lines += [f"{name}.{n}" for n in sorted(module.__all__)]
        for n in module.__all__:
            assert hasattr(module, n), f"{name}.__all__ lists {n} but it is missing"
    assert "\n".join(lines) + "\n" == API.read_text()


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_import_compiles_nothing() -> None:
    code = (
        "import adcore, pkgutil, importlib, numba\n"
        "from numba.core.registry import CPUDispatcher\n"
        "compiled = []\n"
        "for m in pkgutil.walk_packages(adcore._kernels.__path__, 'adcore._kernels.'):\n"
        "    mod = importlib.import_module(m.name)\n"
        "    for k, v in vars(mod).items():\n"
        "        if isinstance(v, CPUDispatcher) and v.signatures:\n"
        "            compiled.append(k)\n"
        "print(len(compiled))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import adcore._kernels\n" + code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "0"


def _signatures() -> dict[str, int]:
    from numba.core.registry import CPUDispatcher

    out = {}
    for m in pkgutil.walk_packages(adcore._kernels.__path__, "adcore._kernels."):
        mod = importlib.import_module(m.name)
        for k, v in vars(mod).items():
            if isinstance(v, CPUDispatcher) and v.__module__ == mod.__name__:
                out[f"{m.name}.{k}"] = len(v.signatures)
    return out


@pytest.mark.parametrize(
    "config",
    [
        adcore.EngineConfig(max_imps=4),
        adcore.EngineConfig(max_imps=4, reserve="soft", bid_shading=True, multislot="vcg"),
        adcore.EngineConfig(max_imps=4, reserve="hard", explore=0.1, trace=True),
    ],
    ids=["default", "learners", "traced"],
)
def test_engine_warmup_compiles_everything_the_request_path_runs(
    catalog: adcore.Catalog, config: adcore.EngineConfig
) -> None:
    """After the engine is built, deciding every kind of request and taking feedback
    compiles nothing more: no kernel signature appears on the request path."""
    from adcore.demo import DEMO_START, sample_requests

    engine = adcore.Engine(catalog, config)
    before = _signatures()
    t = DEMO_START
    for request in sample_requests(40, seed=3):
        for variant in mechanism_variants(request):
            t += 7.0
            for slot in engine.decide(variant, now=t).winners:
                assert slot.impression_id is not None
                iid = slot.impression_id
                engine.feedback(adcore.events.Impression(impression_id=iid, timestamp=t))
                engine.feedback(adcore.events.Click(impression_id=iid, timestamp=t + 3))
    engine.decide(sample_requests(1, seed=4)[0], now=t + 3 * 86400.0)  # a new day, new plans
    assert _signatures() == before


def test_cli_demo_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "adcore", "demo", "--requests", "60"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert "requests decided" in out.stdout
    assert "60" in out.stdout
    assert "plan: privacy -> fraud" in out.stdout


def test_cli_rejects_bad_arguments() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "adcore", "demo", "--requests", "0"], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert "--requests" in out.stderr


def test_kernel_cache_is_keyed_by_every_kernel_file(tmp_path: Path, monkeypatch: Any) -> None:
    """A change to any kernel file (a callee compiled into another kernel's machine code)
    or to the JIT options changes the key of every kernel's on-disk cache."""
    from adcore._kernels import _jit

    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("y = 2\n")
    monkeypatch.setattr(_jit, "_KERNELS", tmp_path)
    first = _jit._package_stamp()
    assert _jit._package_stamp() == first  # stable
    (tmp_path / "b.py").write_text("y = 30\n")
    second = _jit._package_stamp()
    assert second != first
    monkeypatch.setitem(_jit._OPTIONS, "fastmath", {"contract"})
    assert _jit._package_stamp() != second


def test_warmup_compiles_the_learning_agents_too(catalog: adcore.Catalog) -> None:
    """The same with the learning agents (contextual relevance, bandit creative): their
    kernels, prepares and learning updates are compiled before the first request."""
    from adcore.demo import DEMO_START, sample_requests
    from adcore.sim.baseline import learned_agents

    engine = adcore.Engine(catalog, adcore.EngineConfig(max_imps=4), agents=learned_agents())
    before = _signatures()
    t = DEMO_START
    for request in sample_requests(40, seed=3):
        t += 7.0
        for slot in engine.decide(request, now=t).winners:
            assert slot.impression_id is not None
            iid = slot.impression_id
            engine.feedback(adcore.events.Impression(impression_id=iid, timestamp=t))
            engine.feedback(adcore.events.Complete(impression_id=iid, timestamp=t + 3))
            engine.feedback(adcore.events.Click(impression_id=iid, timestamp=t + 4))
    engine.feedback(adcore.events.Impression(impression_id="none", timestamp=t + 9999))
    assert _signatures() == before
