"""The public surface: exported names, doctests, no work at import, the CLI."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import adcore

API = Path(__file__).parent / "api.txt"

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(adcore.__path__, "adcore.") if ".__main__" not in m.name
)


def test_public_names_match_the_committed_list() -> None:
    """A change to the public API shows up as a diff of tests/api.txt."""
    lines = []
    for name in ["adcore", "adcore.openrtb", "adcore.events", "adcore.agents", "adcore.sim"]:
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


def test_engine_warmup_compiles_every_kernel(catalog: adcore.Catalog) -> None:
    adcore.Engine(catalog)
    from numba.core.registry import CPUDispatcher

    from adcore._kernels._jit import HELPERS

    missing = []
    for m in pkgutil.walk_packages(adcore._kernels.__path__, "adcore._kernels."):
        mod = importlib.import_module(m.name)
        for k, v in vars(mod).items():
            name = f"{m.name}.{k}"
            if (
                isinstance(v, CPUDispatcher)
                and v.__module__ == mod.__name__
                and not v.signatures
                and name not in HELPERS
            ):
                missing.append(name)
    assert missing == []


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
