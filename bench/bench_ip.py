"""IP address parsing, the fraud agent's per-request text work: adcore's parser
(``adcore._ip.parse``, cached) beside the standard library's ``ipaddress.ip_address`` on
the same strings.

Three workloads, each one timed call over a whole list of strings:

* cold IPv4: 20,000 distinct dotted quads, more than the cache holds (4,096), so every
  string is parsed afresh on every round: the cost of an address seen for the first time;
* cold IPv6: 20,000 distinct IPv6 addresses in the forms found on the wire (compressed,
  exploded, upper case, IPv4-mapped, with a zone id);
* a repeated mix: 300,000 requests from a population of 1,000,000 addresses (four in
  five IPv4), drawn with Zipf-like weights ``1 / rank`` (a few busy addresses, a long
  tail): about 90,000 distinct strings, more than any cache here holds, so caches are
  judged on what they keep, not on holding everything. The standard library is timed
  bare and behind the ``functools.lru_cache(65536)`` the package used to put in front
  of it.

Both sides must agree on every string (the same family and number, or both refuse it)
before anything is timed. ``pytest bench/bench_ip.py``; the ratios are printed at the
end (``conftest.py``).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from adcore import _ip

GROUP_V4 = "IP parse, cold: 20,000 distinct IPv4"
GROUP_V6 = "IP parse, cold: 20,000 distinct IPv6"
GROUP_MIX = "IP parse, 300,000 requests, Zipf mix"


def stdlib(text: str) -> tuple[int, int] | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return address.version, int(address)


def _ipv6_forms(values: list[int], rng: np.random.Generator, start: int = 0) -> list[str]:
    out = []
    for k, v in enumerate(values, start=start):
        address = ipaddress.IPv6Address(v)
        form = k % 5
        if form == 0:
            out.append(str(address))
        elif form == 1:
            out.append(address.exploded)
        elif form == 2:
            out.append(str(address).upper())
        elif form == 3:
            out.append(f"::ffff:{ipaddress.IPv4Address(v & 0xFFFFFFFF)}")
        else:
            out.append(f"{address}%eth{int(rng.integers(0, 4))}")
    return out


def cold_ipv4() -> list[str]:
    rng = np.random.default_rng(1)
    values = rng.choice(2**32, size=20_000, replace=False)
    return [str(ipaddress.IPv4Address(int(v))) for v in values]


def cold_ipv6() -> list[str]:
    rng = np.random.default_rng(2)
    prefixes = [0x2001_0DB8, 0x2600_1F18, 0x2A00_1450, 0x2400_CB00]
    values = []
    for _ in range(20_000):
        top = prefixes[int(rng.integers(0, len(prefixes)))]
        middle = int(rng.integers(0, 2**16))
        low = (
            int(rng.integers(0, 2**32))
            if rng.random() < 0.5
            else int(rng.integers(0, 2**64, dtype=np.uint64))
        )
        values.append(top << 96 | middle << 80 | low)
    return _ipv6_forms(values, rng)


def zipf_mix() -> list[str]:
    """300,000 requests from a population of 1,000,000 addresses, weights ``1 / rank``."""
    rng = np.random.default_rng(3)
    n = 1_000_000
    weights = 1.0 / np.arange(1, n + 1)
    picks = rng.choice(n, size=300_000, p=weights / weights.sum())
    texts: dict[int, str] = {}
    for rank in np.unique(picks).tolist():
        v4 = ipaddress.IPv4Address((rank * 2_654_435_761 + 12_345) % 2**32)
        if rank % 5 != 4:
            texts[rank] = str(v4)
        else:  # one in five IPv6, in the forms of the cold workload
            value = 0x2A00_1450 << 96 | rank << 64 | int(v4) << 16 | rank & 0xFFFF
            texts[rank] = _ipv6_forms([value], rng, start=rank // 5)[0]
    return [texts[rank] for rank in picks.tolist()]


INPUTS = {GROUP_V4: cold_ipv4(), GROUP_V6: cold_ipv6(), GROUP_MIX: zipf_mix()}


@pytest.fixture(scope="module")
def equivalence() -> str:
    """adcore and the standard library agree on every string of every workload."""
    for texts in INPUTS.values():
        for text in set(texts):
            assert _ip.parse(text) == stdlib(text), text
    return "ok"


def _loop(parse: Callable[[str], Any], texts: list[str]) -> Callable[[], None]:
    def run() -> None:
        for text in texts:
            parse(text)

    return run


def _stdlib_bare(text: str) -> Any:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@pytest.mark.parametrize("name", ["adcore", "ipaddress"])
@pytest.mark.parametrize("group", [GROUP_V4, GROUP_V6])
def test_cold(timed: Any, equivalence: str, group: str, name: str) -> None:
    texts = INPUTS[group]
    assert len(set(texts)) > _ip.cache_info()[1]  # every round misses the cache
    parse = _ip.parse if name == "adcore" else _stdlib_bare
    timed(group, name, _loop(parse, texts))


@pytest.mark.parametrize("name", ["adcore", "ipaddress", "ipaddress+lru_cache"])
def test_zipf_mix(timed: Any, equivalence: str, name: str) -> None:
    texts = INPUTS[GROUP_MIX]
    if name == "adcore":
        parse: Callable[[str], Any] = _ip.parse
    elif name == "ipaddress":
        parse = _stdlib_bare
    else:
        parse = functools.lru_cache(maxsize=65_536)(_stdlib_bare)
    timed(GROUP_MIX, name, _loop(parse, texts))


def test_mix_hit_rate(equivalence: str, capsys: pytest.CaptureFixture[str]) -> None:
    """How often the mix is answered from the cache, in a pass after a warm-up pass."""
    texts = INPUTS[GROUP_MIX]
    # A lookup hits when it returns the object the previous lookup of the same string
    # returned (a parse makes a new one).
    last = {text: _ip.parse(text) for text in texts}
    hits = 0
    for text in texts:
        answer = _ip.parse(text)
        hits += answer is last[text]
        last[text] = answer
    with capsys.disabled():
        print(
            f"\n{GROUP_MIX}: {len(set(texts)):,} distinct addresses, cache of "
            f"{_ip.cache_info()[1]:,}, hit rate {hits / len(texts):.1%}"
        )
    assert 0 < hits < len(texts)
