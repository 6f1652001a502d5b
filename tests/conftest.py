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


def mechanism_variants(request: BidRequest) -> list[BidRequest]:
    """The request as sold by every mechanism: second and first price, position
    auctions, and ad pods on its video and audio impressions."""
    import msgspec

    from adcore import openrtb as rtb

    pods = []
    for imp in request.imp:
        if imp.video is not None:
            video = msgspec.structs.replace(imp.video, poddur=60, maxseq=3, poddedupe=(1, 2))
            imp = msgspec.structs.replace(imp, video=video)
        elif imp.audio is not None:
            audio = msgspec.structs.replace(imp.audio, poddur=90, poddedupe=(1,))
            imp = msgspec.structs.replace(imp, audio=audio)
        pods.append(imp)
    return [
        request,
        msgspec.structs.replace(request, at=1),
        msgspec.structs.replace(request, imp=tuple(pods)),
        msgspec.structs.replace(request, imp=tuple(pods), at=1),
        msgspec.structs.replace(request, ext={"adcore": {"auction": "gsp"}}),
        msgspec.structs.replace(request, ext={"adcore": {"auction": "vcg"}}),
        msgspec.structs.replace(
            request,
            imp=tuple(
                msgspec.structs.replace(i, ext={"adcore": {"soft_floor": 2.0}}) for i in request.imp
            ),
        ),
        rtb.BidRequest(
            id=request.id + "-2",
            imp=request.imp + (msgspec.structs.replace(request.imp[0], id="second"),),
            at=request.at,
        ),
    ]
