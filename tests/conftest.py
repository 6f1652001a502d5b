"""Shared fixtures: a sample catalog, requests and a fresh engine per test."""

from __future__ import annotations

import pytest
from hypothesis import settings

from adcore import Catalog, Engine
from adcore.demo import DEMO_START, sample_catalog, sample_requests
from adcore.openrtb import BidRequest

# Property tests draw the same examples on every run (CI must not turn red on a new
# random draw), and have no per-example deadline (a kernel's first call compiles it).
settings.register_profile("adcore", derandomize=True, deadline=None)
settings.load_profile("adcore")


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return sample_catalog(n_ads=120, dimension=16, seed=0)


@pytest.fixture(scope="session")
def requests_() -> list[BidRequest]:
    return sample_requests(200, seed=1)


@pytest.fixture
def engine(catalog: Catalog) -> Engine:
    return Engine(catalog)


@pytest.fixture
def now() -> float:
    return DEMO_START


def pytest_report_header() -> list[str]:
    """What the kernels run on: printed once at the top of every test run."""
    import os

    import llvmlite
    import llvmlite.binding
    import numba
    import numpy

    return [
        f"numba {numba.__version__}, llvmlite {llvmlite.__version__}, numpy {numpy.__version__}",
        f"host cpu: {llvmlite.binding.get_host_cpu_name()}, {os.cpu_count()} cores, "
        f"NUMBA_DISABLE_JIT={numba.config.DISABLE_JIT}",
    ]
