"""Shared fixtures: a sample catalog, requests and a fresh engine per test."""

from __future__ import annotations

import pytest

from adcore import Catalog, Engine
from adcore.demo import DEMO_START, sample_catalog, sample_requests
from adcore.openrtb import BidRequest


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
