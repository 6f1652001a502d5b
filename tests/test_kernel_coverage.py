"""Kernel bodies are plain Python under NUMBA_DISABLE_JIT=1, so coverage can count them:
run the kernel tests that way in a subprocess and hold the line coverage of
``adcore._kernels`` above a floor."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOOR = 90  # percent of kernel lines executed by the kernel tests


def test_kernel_tests_cover_the_kernels_without_jit(tmp_path: Path) -> None:
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", COVERAGE_FILE=str(tmp_path / "coverage"))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_kernels.py",
            "tests/test_auction_properties.py",
            "tests/test_mechanism_properties.py",
            "tests/test_pacing_properties.py",
            "tests/test_reserve_shading.py",
            "tests/test_batch_kernels.py",
            "tests/test_ivt.py",
            "tests/test_wire.py",
            "tests/test_auction_wrappers.py",
            "tests/test_learn_response.py",
            "tests/test_learn_bandits.py",
            "tests/test_learn_drift.py",
            "tests/test_learn_qlearning.py",
            # The statistical learning tests (whole simulated markets, bandit regret) add
            # no kernel lines and are slow as Python; the main run covers them compiled.
            "-k",
            "not learns_near_optimal and not tracks_a_shift and not regret and not stochastic",
            "--cov=src/adcore/_kernels",
            "--cov-report=term-missing",
            f"--cov-fail-under={FLOOR}",
            "-x",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
