"""The package's IP address parser (``adcore._ip``) against :func:`ipaddress.ip_address`.

The parser must accept exactly the strings the standard library accepts, with the same
family and number, for every string of up to ``MAX_CHARS`` characters: valid addresses
written every way the grammar allows (compressed anywhere, exploded, padded groups,
mixed case, a dotted quad in the last 32 bits, zone ids), random text, and near misses
(one character inserted, deleted or replaced; leading zeros; five octets; ``:::``).
Longer strings are refused unread. Its cache stays bounded under a stream of distinct
strings, from one thread or several. The fraud agent's address signals and
:func:`adcore.consent.truncate_ip` give the answers the standard library gives.

Under ``NUMBA_DISABLE_JIT=1`` (the coverage run) example counts are cut tenfold.
"""

from __future__ import annotations

import ipaddress
import math
import threading

import msgspec
import numba
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adcore import Engine, EngineConfig, _ip
from adcore.consent import truncate_ip
from adcore.demo import DEMO_START, sample_catalog, sample_requests
from adcore.errors import InvalidInput
from adcore.ivt import IpRanges, try_parse_ip

M64 = (1 << 64) - 1
MAPPED = 0xFFFF << 32
HEX = "0123456789abcdefABCDEF"
# Characters an address is made of, characters that look like them, and separators.
NEAR = HEX + ":.%/ \t\n0123456789_+-xX\u0660\u0661\uff11g"


JIT_DISABLED = bool(numba.config.DISABLE_JIT)

# Without the JIT, the hashing kernels' intended uint64 wrap-around warns.
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in scalar:RuntimeWarning")


def cases(n: int) -> settings:
    """Hypothesis settings for ``n`` examples (a tenth without the JIT; fixed draws: see
    ``tests/conftest.py``)."""
    return settings(
        max_examples=max(10, n // 10) if JIT_DISABLED else n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def stdlib(text: str) -> tuple[int, int] | None:
    """What :func:`ipaddress.ip_address` makes of ``text``: ``(version, number)``."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return address.version, int(address)


def agrees(text: str) -> None:
    """Cached and uncached parses equal the standard library's (within the length cap)."""
    want = stdlib(text) if len(text) <= _ip.MAX_CHARS else None
    assert _ip.parse_uncached(text) == want, text
    assert _ip.parse(text) == want, text
    assert _ip.parse(text) == want, text  # from the cache this time


# --------------------------------------------------------------------------- renderings


@st.composite
def ipv4_texts(draw: st.DrawFn) -> tuple[str, int]:
    value = draw(st.one_of(st.integers(0, 2**32 - 1), st.sampled_from([0, 2**32 - 1])))
    return str(ipaddress.IPv4Address(value)), value


def _case(draw: st.DrawFn, text: str) -> str:
    mode = draw(st.sampled_from(["lower", "upper", "mixed"]))
    if mode == "lower":
        return text
    if mode == "upper":
        return text.upper()
    flips = draw(st.integers(0, 2 ** len(text) - 1))
    return "".join(c.upper() if flips >> k & 1 else c for k, c in enumerate(text))


@st.composite
def ipv6_texts(draw: st.DrawFn) -> tuple[str, int]:
    """An IPv6 address written any way the grammar allows, and its number: groups with or
    without leading zeros, in any case, "::" over any run of zero groups (not only the
    longest), optionally the last 32 bits as a dotted quad and a zone id."""
    groups = draw(
        st.lists(
            st.one_of(st.just(0), st.integers(0, 0xFFFF), st.sampled_from([1, 0xFFFF])),
            min_size=8,
            max_size=8,
        )
    )
    if draw(st.integers(0, 3)) == 0:  # IPv4-mapped, a frequent form on the wire
        groups[:6] = [0, 0, 0, 0, 0, 0xFFFF]
    value = 0
    for g in groups:
        value = value << 16 | g
    dotted = draw(st.booleans())
    n_words = 6 if dotted else 8
    words = []
    for g in groups[:n_words]:
        digits = f"{g:x}"
        pad = draw(st.integers(0, 4 - len(digits)))
        words.append("0" * pad + digits)
    runs = [
        (i, j)
        for i in range(n_words)
        for j in range(i + 1, n_words + 1)
        if all(g == 0 for g in groups[i:j])
    ]
    if runs and draw(st.booleans()):
        i, j = draw(st.sampled_from(runs))
        head, tail = ":".join(words[:i]), ":".join(words[j:])
        if dotted:
            text = head + "::" + tail + (":" if tail else "")
        else:
            text = head + "::" + tail
    else:
        text = ":".join(words) + (":" if dotted else "")
    text = _case(draw, text)
    if dotted:
        text += str(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if draw(st.integers(0, 4)) == 0:
        room = _ip.MAX_CHARS - len(text) - 1
        zone = draw(st.text(st.characters(exclude_characters="%/"), min_size=1, max_size=room))
        text += "%" + zone
    return text, value


@cases(1000)
@given(ipv4_texts())
def test_ipv4_addresses_parse_to_their_number(case: tuple[str, int]) -> None:
    text, value = case
    assert _ip.parse(text) == _ip.parse_uncached(text) == (4, value) == stdlib(text)
    assert try_parse_ip(text) == (0, MAPPED | value)


@cases(2000)
@given(ipv6_texts())
def test_ipv6_addresses_in_every_form_parse_to_their_number(case: tuple[str, int]) -> None:
    text, value = case
    assert len(text) <= _ip.MAX_CHARS
    assert stdlib(text) == (6, value), text  # the rendering is valid
    assert _ip.parse(text) == _ip.parse_uncached(text) == (6, value), text
    assert try_parse_ip(text) == (value >> 64, value & M64)


@cases(1000)
@given(st.ip_addresses())
def test_canonical_and_exploded_forms(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    for text in {str(address), address.exploded, address.exploded.upper(), str(address).upper()}:
        assert _ip.parse(text) == (address.version, int(address)), text


# --------------------------------------------------------------------------- garbage


@st.composite
def near_misses(draw: st.DrawFn) -> str:
    """A valid address after one to three edits: a character inserted, deleted or
    replaced, or the three characters before a point repeated."""
    text = draw(st.one_of(ipv4_texts(), ipv6_texts()))[0]
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "double"]))
        c = draw(st.sampled_from(NEAR))
        if op == "insert":
            text = text[:k] + c + text[k:]
        elif op == "delete":
            text = text[:k] + text[k + 1 :]
        elif op == "replace":
            text = text[:k] + c + text[k + 1 :]
        else:  # repeat a piece: ":::", "1..2", a fifth octet, a ninth group
            text = text[:k] + text[max(0, k - 3) : k] + text[k:]
    return text


@cases(2000)
@given(near_misses())
def test_near_misses_are_judged_as_the_standard_library_judges_them(text: str) -> None:
    agrees(text)


@cases(3000)
@given(st.one_of(st.text(NEAR, max_size=_ip.MAX_CHARS + 8), st.text(max_size=_ip.MAX_CHARS)))
def test_random_text_is_judged_as_the_standard_library_judges_it(text: str) -> None:
    agrees(text)


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("0.0.0.0", True),
        ("255.255.255.255", True),
        ("01.2.3.4", False),  # leading zero
        ("1.2.3.00", False),
        ("1.2.3.4.5", False),
        ("1.2.3", False),
        ("256.1.1.1", False),
        ("1.2.3.4 ", False),
        (" ::1", False),
        ("1.2.3.4\n", False),
        ("\u0661.2.3.4", False),  # a non-ASCII digit
        ("1.2.3.4/32", False),
        ("1.2.3.4%eth0", False),
        ("::", True),
        (":::", False),
        ("1::2::3", False),
        (":1::", False),
        ("1::2:", False),
        ("::1:2:3:4:5:6:7", True),  # "::" standing for one group
        ("1:2:3:4:5:6:7::", True),
        ("1:2:3:4:5:6:7::8", False),  # "::" standing for no group
        ("1:2:3:4:5:6:7:8:9", False),
        ("1:2:3:4:5:6:7", False),
        ("12345::", False),
        ("0000:0000:0000:0000:0000:ffff:255.255.255.255", True),  # 45 characters
        ("1:2:3:4:5:6:1.2.3.4", True),
        ("1:2:3:4:5:6:7:1.2.3.4", False),
        ("::1.2.3.4", True),
        ("::1.2.3.04", False),
        ("::1.2.3", False),
        ("1.2.3.4::", False),
        ("1.2::3", False),
        ("::g", False),
        ("0x1::", False),
        ("fe80::1%eth0", True),
        ("fe80::1%", False),
        ("fe80::1%a%b", False),
        ("fe80::1%eth0/64", False),
        ("::ffff:1.2.3.4%1", True),
        ("::1%" + "x" * 60, True),  # 64 characters: read
        ("::1%" + "x" * 61, False),  # 65: refused unread (the standard library takes it)
        ("1" * 10_000, False),
    ],
)
def test_edge_cases(text: str, accepted: bool) -> None:
    assert (_ip.parse(text) is not None) == accepted
    agrees(text)


def test_overlong_text_is_refused_and_not_cached() -> None:
    before = _ip.cache_info()[0]
    for k in range(100):
        text = "2001:db8::1%" + "z" * (_ip.MAX_CHARS + k)
        assert stdlib(text) is not None  # the standard library reads any zone id
        assert _ip.parse(text) is None
        assert try_parse_ip(text) is None
    assert _ip.cache_info()[0] == before  # nothing was added


# --------------------------------------------------------------------------- the cache


def test_cache_stays_bounded_and_right_under_distinct_strings() -> None:
    _, capacity = _ip.cache_info()
    assert capacity == 2 * _ip.GENERATION
    for i in range(5 * capacity):
        text = str(ipaddress.IPv4Address(i * 2654435761 % 2**32)) if i % 3 else f"{i:x}::{i}:z"
        assert _ip.parse(text) == stdlib(text)
        if i % 97 == 0:
            assert _ip.cache_info()[0] <= capacity
    assert _ip.cache_info()[0] <= capacity


def test_recent_addresses_stay_cached() -> None:
    """An address is answered from the cache (the same object) at least until
    ``GENERATION`` other strings have been added after it."""
    hot = "198.51.100.42"
    first = _ip.parse(hot)
    for i in range(_ip.GENERATION):
        _ip.parse(f"2001:db8::{i:x}")
    assert _ip.parse(hot) is first
    for i in range(3 * _ip.GENERATION):
        _ip.parse(f"2001:db8:1::{i:x}")
    assert _ip.parse(hot) == first  # evicted by now, parsed again: the same answer


def test_cache_under_concurrent_use() -> None:
    """Threads parsing overlapping streams get the right answers; the bound holds."""
    texts = [str(ipaddress.IPv6Address(i * 0x9E3779B97F4A7C15 % 2**128)) for i in range(6000)]
    texts += [str(ipaddress.IPv4Address(i * 40503 % 2**32)) for i in range(6000)]
    want = {t: stdlib(t) for t in texts}
    errors: list[str] = []

    def work(offset: int) -> None:
        for k in range(len(texts)):
            t = texts[(k * 7 + offset) % len(texts)]
            if _ip.parse(t) != want[t]:
                errors.append(t)

    threads = [threading.Thread(target=work, args=(j * 1000,)) for j in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert _ip.cache_info()[0] <= _ip.cache_info()[1] + len(threads)


# --------------------------------------------------------------------------- truncate_ip


def truncated(text: str) -> str:
    """The reference: the standard library's number, masked, written by the library."""
    address = ipaddress.ip_address(text.strip())
    if address.version == 4:
        return str(ipaddress.IPv4Address(int(address) & 0xFFFFFF00))
    return str(ipaddress.IPv6Address(int(address) & ~((1 << 72) - 1)))


@cases(1000)
@given(st.one_of(ipv4_texts(), ipv6_texts()), st.sampled_from(["", " ", "\t", "\n "]))
def test_truncate_ip_matches_the_standard_library(case: tuple[str, int], space: str) -> None:
    text = space + case[0] + space
    if len(text.strip()) <= _ip.MAX_CHARS:
        assert truncate_ip(text) == truncated(text)


@cases(1000)
@given(near_misses())
def test_truncate_ip_refuses_what_the_standard_library_refuses(text: str) -> None:
    if stdlib(text.strip()) is None:
        with pytest.raises(InvalidInput):
            truncate_ip(text)
    else:
        assert truncate_ip(text) == truncated(text)


# --------------------------------------------------------------------------- fraud agent

CATALOG = sample_catalog(n_ads=40, seed=5)
BLOCKS = ("198.51.100.0/24", "203.0.113.128/25", "2001:db8:aa::/48", "::ffff:192.0.2.0/120")
CONFIG = EngineConfig(latency_budget_us=math.inf, trace=True, warmup=False, datacenter_cidrs=BLOCKS)
NETS = [ipaddress.ip_network(b) for b in BLOCKS]


def reference_signals(text: str) -> tuple[bool, bool]:
    """``(datacenter, impossible)`` as the agent computed them with :mod:`ipaddress`:
    data-center membership in the IPv4-mapped 128-bit space, and the address properties
    ``is_loopback``, ``is_unspecified``, ``is_link_local``, ``is_multicast`` (as Python
    3.11 defines them: an IPv4-mapped IPv6 address judged as IPv6)."""
    if len(text) > _ip.MAX_CHARS:
        return False, True
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False, True
    if address.version == 4:
        value = MAPPED | int(address)
        bad = ("127.0.0.0/8", "0.0.0.0/32", "169.254.0.0/16", "224.0.0.0/4")
    else:
        value = int(address)
        bad = ("::1/128", "::/128", "fe80::/10", "ff00::/8")
    in_dc = any(
        int(n.network_address) | (MAPPED if n.version == 4 else 0)
        <= value
        <= int(n.broadcast_address) | (MAPPED if n.version == 4 else 0)
        for n in NETS
    )
    nets = [ipaddress.ip_network(b) for b in bad]
    number = int(address)
    impossible = any(int(n.network_address) <= number <= int(n.broadcast_address) for n in nets)
    return in_dc, impossible


@pytest.fixture(scope="module")
def engine() -> Engine:
    Engine(CATALOG, msgspec.structs.replace(CONFIG, warmup=True))  # compile once
    return Engine(CATALOG, CONFIG)


BASE = sample_requests(1, seed=41, bot_share=0.0, gdpr_share=0.0)[0]

ADDRESS_CASES = [
    "198.51.100.7",
    "::ffff:198.51.100.7",
    "203.0.113.200",
    "203.0.113.5",
    "2001:db8:aa::1",
    "2001:DB8:AA:0:0:0:0:FFFF%en0",
    "192.0.2.9",
    "127.0.0.1",
    "::ffff:127.0.0.1",
    "169.254.1.1",
    "fe80::1%eth0",
    "ff02::1",
    "224.0.0.1",
    "0.0.0.0",
    "::",
    "::1",
    "1.2.3",
    "01.2.3.4",
    "not-an-ip",
    "2001:db8::1%" + "z" * 80,
]


def signals_of(engine: Engine, text: str) -> list[str]:
    """The fraud agent's signals for a request from ``text``: computed the first time,
    remembered the second, the same both times."""
    assert BASE.device is not None
    request = msgspec.structs.replace(
        BASE, device=msgspec.structs.replace(BASE.device, ip=text, ipv6=None, ifa=None)
    )
    seen = []
    for _ in range(2):
        decision = engine.decide(request, now=DEMO_START)
        assert decision.trace is not None
        fraud = next(a for a in decision.trace.agents if a.agent == "fraud")
        seen.append(str(fraud.notes["signals"]).split(","))
    assert seen[0] == seen[1]
    return seen[0]


@pytest.mark.parametrize("text", ADDRESS_CASES)
def test_fraud_agent_address_signals_on_known_cases(engine: Engine, text: str) -> None:
    signals = signals_of(engine, text)
    datacenter, impossible = reference_signals(text)
    assert ("datacenter_ip" in signals) == datacenter
    assert ("impossible_ip" in signals) == impossible


@cases(400)
@given(
    st.one_of(
        ipv4_texts().map(lambda c: c[0]),
        ipv6_texts().map(lambda c: c[0]),
        near_misses(),
        st.sampled_from(ADDRESS_CASES),
    )
)
def test_fraud_agent_address_signals_match_the_standard_library(engine: Engine, text: str) -> None:
    signals = signals_of(engine, text)
    datacenter, impossible = reference_signals(text) if text else (False, False)
    assert ("datacenter_ip" in signals) == datacenter, text
    assert ("impossible_ip" in signals) == impossible, text


def test_default_ranges_through_the_parser() -> None:
    """The built-in list answers the same for every spelling of an address."""
    ranges = IpRanges.default()
    for text in ("3.80.0.1", "::ffff:3.80.0.1", "::FFFF:350:1", "0:0:0:0:0:ffff:0350:0001"):
        assert text in ranges, text
    assert "2600:1f18::1%eth1" in ranges
    assert "2600:1f18::1%" not in ranges
