"""Invalid-traffic building blocks (``adcore.ivt``): the range-lookup kernels against their
naive reference (``tests/reference/ivt.py``), :class:`IpRanges` against
:mod:`ipaddress`, the default data-center list, and :class:`ClickValidator` against an
exact counter, within its stated bound.

Under ``NUMBA_DISABLE_JIT=1`` (the coverage run) example counts are cut tenfold.
"""

from __future__ import annotations

import ipaddress
import math
import pickle
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from adcore._kernels.ipranges import ip_in_ranges, ips_in_ranges
from adcore.errors import InvalidInput
from adcore.ivt import ClickValidator, IpRanges, parse_ip, try_parse_ip

try:
    from tests.reference import ivt as ref
except ImportError:  # pytest run without the project root on sys.path
    from reference import ivt as ref  # type: ignore[no-redef]

JIT_DISABLED = bool(numba.config.DISABLE_JIT)

pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in scalar:RuntimeWarning")

U64 = np.uint64
M64 = (1 << 64) - 1
TOP = (1 << 128) - 1
MAPPED = 0xFFFF << 32


def cases(n: int) -> settings:
    """Hypothesis settings for ``n`` examples (a tenth without the JIT)."""
    return settings(
        max_examples=max(10, n // 10) if JIT_DISABLED else n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def halves(values: list[int], capacity: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint64 (hi, lo) arrays of 128-bit values, padded with ``capacity`` junk entries."""
    junk = [TOP - i for i in range(capacity)]
    hi = np.array([v >> 64 for v in values + junk], dtype=np.uint64)
    lo = np.array([v & M64 for v in values + junk], dtype=np.uint64)
    return hi, lo


# --------------------------------------------------------------------------- kernel

# Boundaries cluster where the 128-bit comparison is delicate: near 0, near 2**64 (where
# the high half changes), near the top, and in the IPv4-mapped block.
POINTS = st.one_of(
    st.integers(0, TOP),
    st.integers(0, 40),
    st.integers((1 << 64) - 20, (1 << 64) + 20),
    st.integers(TOP - 40, TOP),
    st.integers(MAPPED, MAPPED + 300),
)


@st.composite
def range_sets(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    """Sorted, disjoint closed ranges ``[u[2i], u[2i+1] - 1]`` (single addresses when
    ``u[2i+1] == u[2i] + 1``; the last may end at the top address)."""
    cuts = sorted(draw(st.sets(st.one_of(POINTS, st.just(TOP + 1)), max_size=24)))
    cuts = cuts[: len(cuts) // 2 * 2]
    return cuts[0::2], [c - 1 for c in cuts[1::2]]


@cases(2000)
@given(range_sets(), st.lists(POINTS, max_size=12), st.integers(0, 3))
def test_ip_in_ranges_matches_reference(
    ranges: tuple[list[int], list[int]], probes: list[int], capacity: int
) -> None:
    """Single and batch lookup equal the reference's linear scan, for probes at every range
    edge (first, last, one outside) and random ones; entries past ``n`` are ignored."""
    starts, ends = ranges
    n = len(starts)
    sh, sl = halves(starts, capacity)
    eh, el = halves(ends, capacity)
    edges = [v + d for v in starts + ends for d in (-1, 0, 1) if 0 <= v + d <= TOP]
    ips = probes + edges
    ih, il = halves(ips)
    want = ref.ips_in_ranges(sh, sl, eh, el, n, ih, il)
    for k in range(len(ips)):
        assert ip_in_ranges(sh, sl, eh, el, n, ih[k], il[k]) == want[k], hex(ips[k])
    out = np.ones(len(ips), dtype=np.bool_)
    ips_in_ranges(sh, sl, eh, el, n, ih, il, out)
    assert_array_equal(out, np.array(want, dtype=np.bool_))


def test_ip_in_ranges_whole_space_and_empty() -> None:
    sh, sl = halves([0])
    eh, el = halves([TOP])
    for ip in (0, 1, M64, 1 << 64, TOP):
        assert ip_in_ranges(sh, sl, eh, el, 1, U64(ip >> 64), U64(ip & M64))
        assert not ip_in_ranges(sh, sl, eh, el, 0, U64(ip >> 64), U64(ip & M64))


# --------------------------------------------------------------------------- parsing


@cases(2000)
@given(st.ip_addresses())
def test_parse_ip_is_the_128_bit_number(
    addr: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    """IPv6 as its number; IPv4 as the number of its IPv4-mapped IPv6 address."""
    value = int(addr) if addr.version == 6 else int(ipaddress.IPv6Address(f"::ffff:{addr}"))
    assert parse_ip(str(addr)) == (value >> 64, value & M64)
    assert try_parse_ip(str(addr)) == (value >> 64, value & M64)
    if addr.version == 6:
        assert parse_ip(addr.exploded) == parse_ip(str(addr))


@cases(2000)
@given(st.text(max_size=50))
def test_try_parse_ip_accepts_what_ipaddress_accepts(text: str) -> None:
    try:
        ipaddress.ip_address(text)
        valid = True
    except ValueError:
        valid = False
    assert (try_parse_ip(text) is not None) == valid


@pytest.mark.parametrize(
    "bad",
    ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", " 1.2.3.4", "1.2.3.4/32", "::g", "x" * 500],
)
def test_parse_ip_rejects_malformed(bad: str) -> None:
    assert try_parse_ip(bad) is None
    with pytest.raises(InvalidInput, match="not an IPv4 or IPv6 address") as exc:
        parse_ip(bad)
    assert exc.value.field == "ip"


@pytest.mark.parametrize("bad", [None, 16909060, b"1.2.3.4", ipaddress.ip_address("1.2.3.4")])
def test_parse_ip_rejects_non_strings(bad: object) -> None:
    assert try_parse_ip(bad) is None
    with pytest.raises(InvalidInput, match="must be a string") as exc:
        parse_ip(bad)  # type: ignore[arg-type]
    assert exc.value.field == "ip"


# --------------------------------------------------------------------------- IpRanges

V4_BASES = ["10.0.0.0", "10.0.0.128", "10.0.1.0", "10.1.0.0", "192.0.2.0", "0.0.0.0"]
V6_BASES = ["2001:db8::", "2001:db8::8000", "2001:db8:0:1::", "2001:db8:1::", "fe80::", "::1"]


@st.composite
def v4_networks(draw: st.DrawFn) -> ipaddress.IPv4Network:
    """Blocks around a few nearby bases, so that overlaps and adjacency are common."""
    base = int(ipaddress.IPv4Address(draw(st.sampled_from(V4_BASES))))
    base += draw(st.sampled_from([0, 0, 1, 64, 255, 256]))
    prefix = draw(st.one_of(st.integers(16, 32), st.integers(0, 32)))
    return ipaddress.IPv4Network((base, prefix), strict=False)


@st.composite
def v6_networks(draw: st.DrawFn) -> ipaddress.IPv6Network:
    """IPv6 blocks near a few bases; never overlapping the IPv4-mapped block."""
    base = int(ipaddress.IPv6Address(draw(st.sampled_from(V6_BASES))))
    base += draw(st.sampled_from([0, 0, 1, 1 << 15, 1 << 64, 1 << 80]))
    prefix = draw(st.one_of(st.integers(16, 128), st.sampled_from([1, 2, 8, 60, 64, 96])))
    net = ipaddress.IPv6Network((base, prefix), strict=False)
    if net.overlaps(ipaddress.IPv6Network("::ffff:0:0/96")):
        net = ipaddress.IPv6Network(("2001:db8::", max(prefix, 32)), strict=False)
    return net


def probes_for(nets: list, extra: list[str]) -> list:
    """Each block's first and last address and their outside neighbours, plus ``extra``."""
    out = [ipaddress.ip_address(e) for e in extra]
    for net in nets:
        first, last = int(net.network_address), int(net.broadcast_address)
        for v in (first - 1, first, last, last + 1):
            if 0 <= v < 2**net.max_prefixlen:
                out.append(type(net.network_address)(v))
    return out


@cases(2000)
@given(
    st.lists(st.one_of(v4_networks(), v6_networks()), max_size=10),
    st.lists(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)), max_size=6),
)
def test_ip_ranges_agree_with_ipaddress(nets: list, randoms: list) -> None:
    """``contains`` == any(ip in block) by :mod:`ipaddress`, at every block edge and on
    random addresses (the IPv6 blocks drawn here leave the IPv4-mapped block alone, so
    the two families do not meet and ipaddress's own semantics apply)."""
    ranges = IpRanges.from_cidrs([str(n) for n in nets])
    ips = probes_for(nets, [str(a) for a in randoms])
    ips = [a for a in ips if not (a.version == 6 and a.ipv4_mapped is not None)]
    want = [any(a in n for n in nets) for a in ips]
    assert [ranges.contains(str(a)) for a in ips] == want
    assert ranges.contains_many([str(a) for a in ips]).tolist() == want
    assert [str(a) in ranges for a in ips] == want


@cases(1000)
@given(
    st.lists(st.one_of(v4_networks(), v6_networks()), max_size=10),
    st.lists(st.ip_addresses(v=4), max_size=6),
)
def test_ip_ranges_map_ipv4_into_ipv6(nets: list, randoms: list) -> None:
    """An IPv4 address and its IPv4-mapped IPv6 form get the same answer."""
    ranges = IpRanges.from_cidrs([str(n) for n in nets])
    ips = [a for a in probes_for(nets, [str(a) for a in randoms]) if a.version == 4]
    assert [ranges.contains(str(a)) for a in ips] == [ranges.contains(f"::ffff:{a}") for a in ips]


@cases(2000)
@given(st.lists(st.one_of(v4_networks(), v6_networks()), max_size=12))
def test_ip_ranges_merge_overlaps_and_neighbours(nets: list) -> None:
    """The kernel's table is the reference merge of the blocks: sorted, disjoint, with a
    gap of at least one address between consecutive ranges."""
    ranges = IpRanges.from_cidrs([str(n) for n in nets])
    blocks = []
    for n in nets:
        first, last = int(n.network_address), int(n.broadcast_address)
        if n.version == 4:
            first, last = first | MAPPED, last | MAPPED
        blocks.append((first, last))
    sh, sl, eh, el, n = ranges.arrays()
    got = [(ref.join(sh[i], sl[i]), ref.join(eh[i], el[i])) for i in range(n)]
    assert got == ref.merge(blocks)
    assert len(ranges) == n <= len(nets)
    assert all(got[i][1] + 1 < got[i + 1][0] for i in range(len(got) - 1))


def test_ip_ranges_ipv6_block_over_mapped_space_contains_ipv4() -> None:
    r = IpRanges.from_cidrs(["::/0"])
    assert r.contains("8.8.8.8") and r.contains("::1")
    r = IpRanges.from_cidrs(["::ffff:0:0/96"])
    assert r.contains("0.0.0.0") and r.contains("255.255.255.255") and not r.contains("::1")


def test_ip_ranges_edges_of_the_address_space() -> None:
    r = IpRanges.from_cidrs(["0.0.0.0/32", "255.255.255.255/32", "::/128", "ffff:" * 7 + "ffff"])
    assert len(r) == 4
    for ip in ("0.0.0.0", "255.255.255.255", "::", "ffff:" * 7 + "ffff"):
        assert r.contains(ip)
    for ip in ("0.0.0.1", "255.255.255.254", "::1", "ffff:" * 7 + "fffe"):
        assert not r.contains(ip)


def test_empty_ranges_contain_nothing() -> None:
    r = IpRanges.from_cidrs([])
    assert len(r) == 0 and not r.contains("1.2.3.4")
    assert r.contains_many([]).shape == (0,)
    assert r.contains_many(["::1"]).tolist() == [False]


@pytest.mark.parametrize(
    ("cidrs", "field", "pattern"),
    [
        (["10.0.0.0/8", "10.0.0.1/8"], "cidrs[1]", "host bits set"),
        (["10.0.0.0/33"], "cidrs[0]", "does not appear to be"),
        (["nonsense"], "cidrs[0]", "does not appear to be"),
        ([None], "cidrs[0]", "must be a string"),
        ("10.0.0.0/8", "cidrs", "not a string"),
    ],
)
def test_ip_ranges_reject_bad_blocks(cidrs: object, field: str, pattern: str) -> None:
    with pytest.raises(InvalidInput, match=pattern) as exc:
        IpRanges.from_cidrs(cidrs)  # type: ignore[arg-type]
    assert exc.value.field == field


def test_contains_many_names_the_bad_element() -> None:
    r = IpRanges.from_cidrs(["10.0.0.0/8"])
    with pytest.raises(InvalidInput) as exc:
        r.contains_many(["10.0.0.1", "10.0.0.256"])
    assert exc.value.field == "ips[1]"
    with pytest.raises(InvalidInput):
        r.contains_many("10.0.0.1")
    assert r.contains_parsed(parse_ip("10.9.9.9"))
    assert "not an address" not in r


def test_from_file_reads_comments_and_names_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "blocks.txt"
    path.write_text("# header\n\n10.0.0.0/8  # a\n2001:db8::/32\n")
    r = IpRanges.from_file(path)
    assert r.contains("10.1.2.3") and r.contains("2001:db8::5") and not r.contains("11.0.0.0")
    path.write_text("10.0.0.0/8\n10.0.0.0/99  # typo\n")
    with pytest.raises(InvalidInput, match="line 2"):
        IpRanges.from_file(path)


def test_ip_ranges_pickle() -> None:
    r = IpRanges.from_cidrs(["10.0.0.0/8", "2001:db8::/32"])
    again = pickle.loads(pickle.dumps(r))
    ips = ["10.0.0.1", "9.255.255.255", "2001:db8::1", "2001:db9::"]
    assert (
        again.contains_many(ips).tolist()
        == r.contains_many(ips).tolist()
        == [
            True,
            False,
            True,
            False,
        ]
    )


# --------------------------------------------------------------------------- default list


def listed_blocks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    text = resources.files("adcore").joinpath("data/datacenter_cidrs.txt").read_text("utf-8")
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    return [ipaddress.ip_network(line) for line in lines if line]


def test_default_list_contains_every_listed_block() -> None:
    blocks = listed_blocks()
    assert len(blocks) >= 30
    assert {b.version for b in blocks} == {4, 6}
    r = IpRanges.default()
    assert r is IpRanges.default()  # loaded once
    for b in blocks:
        assert r.contains(str(b.network_address)) and r.contains(str(b.broadcast_address))
    assert r.contains("3.80.0.1")  # AWS us-east-1
    assert r.contains("2600:1f18::1")  # AWS us-east-1 IPv6


@pytest.mark.parametrize(
    "ip",
    [
        "192.0.2.1",  # TEST-NET-1
        "198.51.100.7",  # TEST-NET-2
        "203.0.113.9",  # TEST-NET-3
        "2001:db8::1",  # IPv6 documentation block
        "192.168.1.10",  # home router LAN
        "10.0.0.2",
        "127.0.0.1",
        "::1",
        "73.162.10.20",  # Comcast residential (73.0.0.0/8)
        "86.12.34.56",  # Virgin Media residential
        "2a02:c7f:1234::1",  # BT residential IPv6
    ],
)
def test_default_list_leaves_out_test_private_and_residential(ip: str) -> None:
    assert not IpRanges.default().contains(ip)
    assert not any(ipaddress.ip_address(ip) in b for b in listed_blocks())


def test_import_reads_no_file() -> None:
    """Importing adcore.ivt reads nothing; the default list is read on first use."""
    code = (
        "import numba, llvmlite.binding\n"  # they read their own files on import
        "import importlib.resources as r\n"
        "def boom(*a, **k): raise RuntimeError('read')\n"
        "r.files = boom\n"
        "import adcore.ivt\n"
        "try:\n"
        "    adcore.ivt.IpRanges.default()\n"
        "except RuntimeError:\n"
        "    print('lazy')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "lazy"


# --------------------------------------------------------------------------- clicks


@pytest.mark.parametrize(
    ("impressions", "shown_at", "now", "want"),
    [
        (0, None, 10.0, (False, "click_without_impression")),
        (100, None, 10.0, (False, "click_without_impression")),  # first rule wins
        (0, 9.5, 10.0, (False, "click_too_fast")),
        (0, 10.5, 10.0, (False, "click_too_fast")),  # click before its impression
        (0, 9.0, 10.0, (True, "")),  # exactly min_seconds: plausible
        (3, 5.0, 10.0, (True, "")),  # 1 click for 3 impressions, but too few to judge
        (4, 5.0, 10.0, (False, "abnormal_ctr")),  # 1 / 4 > 0.2
        (5, 5.0, 10.0, (True, "")),  # 1 / 5 is not above 0.2
    ],
)
def test_click_reasons(
    impressions: int, shown_at: float | None, now: float, want: tuple[bool, str]
) -> None:
    v = ClickValidator(min_seconds=1.0, max_ctr=0.2, min_impressions=4)
    for _ in range(impressions):
        v.record_impression(42, now=0.0)
    assert v.check_click(42, shown_at, now) == want
    assert v.source_counts(42, now) == (impressions, 1)


def test_ctr_window_restarts_counts() -> None:
    v = ClickValidator(ctr_window=100.0, min_impressions=2, max_ctr=0.5)
    v.record_impression(1, 0.0)
    v.record_impression(1, 1.0)
    assert v.check_click(1, 1.0, 50.0) == (True, "")  # 1 click, not above 0.5 * 2
    assert v.check_click(1, 1.0, 60.0) == (False, "abnormal_ctr")  # 2 clicks > 0.5 * 2
    assert v.source_counts(1, 99.9) == (2, 2)
    assert v.source_counts(1, 100.0) == (0, 0)  # the window is [0, 100)
    assert v.check_click(1, 100.0, 150.0) == (True, "")  # a new window: 0 impressions
    assert v.source_counts(1, 150.0) == (0, 1)


def test_abnormal_ctr_after_enough_clicks() -> None:
    v = ClickValidator(min_impressions=10, max_ctr=0.2)
    for t in range(10):
        v.record_impression(9, float(t))
    verdicts = [v.check_click(9, 0.0, 20.0 + i) for i in range(4)]
    assert verdicts == [(True, "")] * 2 + [(False, "abnormal_ctr")] * 2  # 3/10 > 0.2
    assert v.check_click(8, 0.0, 30.0) == (True, "")  # other sources are not affected


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"min_seconds": -1.0}, "min_seconds"),
        ({"min_seconds": math.nan}, "min_seconds"),
        ({"ctr_window": 0.0}, "ctr_window"),
        ({"ctr_window": math.nan}, "ctr_window"),
        ({"max_ctr": -0.1}, "max_ctr"),
        ({"max_ctr": math.inf}, "max_ctr"),
        ({"min_impressions": 0}, "min_impressions"),
        ({"min_impressions": 2.5}, "min_impressions"),
        ({"slots": 0}, "slots"),
        ({"slots": True}, "slots"),
        ({"seed": "x"}, "seed"),
    ],
)
def test_click_validator_rejects_bad_config(kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        ClickValidator(**kwargs)
    assert exc.value.field == field


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda v: v.record_impression(-1, 0.0), "source_key"),
        (lambda v: v.record_impression(2**64, 0.0), "source_key"),
        (lambda v: v.record_impression("pub", 0.0), "source_key"),
        (lambda v: v.record_impression(1, math.nan), "now"),
        (lambda v: v.check_click(1, math.inf, 0.0), "shown_at"),
        (lambda v: v.check_click(1, 0.0, None), "now"),
        (lambda v: v.source_counts(1, "later"), "now"),
    ],
)
def test_click_validator_rejects_bad_arguments_without_counting(call: object, field: str) -> None:
    v = ClickValidator()
    with pytest.raises(InvalidInput) as exc:
        call(v)  # type: ignore[operator]
    assert exc.value.field == field
    assert v.source_counts(1, 0.0) == (0, 0)


def test_memory_is_fixed_whatever_the_number_of_sources() -> None:
    v = ClickValidator(slots=1024)
    before = v.memory_bytes
    assert before == 24 * 1024
    n = 2000 if JIT_DISABLED else 20_000
    for s in range(n):
        v.record_impression(s, float(s) * 1e-3)
        v.check_click(s, float(s) * 1e-3 - 2.0, float(s) * 1e-3)
    assert v.memory_bytes == before
    # the newest sources are still counted
    assert v.source_counts(n - 1, (n - 1) * 1e-3) == (1, 1)


Op = tuple[int, float, int]  # (source, time step, kind: 0 impression, 1 click, 2 orphan click)


@st.composite
def click_ops(draw: st.DrawFn, n_sources: int, max_ops: int) -> list[Op]:
    return draw(
        st.lists(
            st.tuples(
                st.integers(0, n_sources - 1),
                st.sampled_from([0.0, 0.0, 0.3, 1.0, 2.0, 5.0, 40.0]),
                st.sampled_from([0, 0, 0, 1, 1, 2]),
            ),
            min_size=1,
            max_size=max_ops,
        )
    )


def replay(v: ClickValidator, exact: ref.ExactClickValidator | None, ops: list[Op]):
    """Run ``ops`` through the validator (and the exact reference); yields after each op
    the time, the source and both verdicts (``None`` for impressions)."""
    now = 0.0
    for source, step, kind in ops:
        now += step
        if kind == 0:
            v.record_impression(source, now)
            if exact is not None:
                exact.record_impression(source, now)
            yield now, source, kind, None, None
        else:
            shown = None if kind == 2 else now - step / 2 - 0.5 * (source % 3)
            got = v.check_click(source, shown, now)
            want = exact.check_click(source, shown, now) if exact is not None else None
            yield now, source, kind, got, want


@cases(500)
@given(
    click_ops(6, 80),
    st.sampled_from([10.0, 60.0, math.inf]),
    st.sampled_from([0.0, 0.25, 0.5]),
    st.integers(1, 4),
    st.integers(0, 3),
)
def test_click_validator_equals_exact_counter_with_room(
    ops: list[Op], window: float, max_ctr: float, min_imps: int, seed: int
) -> None:
    """With far more slots than sources, every verdict and every count equals the exact
    per-source, per-window reference."""
    v = ClickValidator(
        min_seconds=0.5,
        ctr_window=window,
        max_ctr=max_ctr,
        min_impressions=min_imps,
        slots=4096,
        seed=seed,
    )
    exact = ref.ExactClickValidator(0.5, window, max_ctr, min_imps)
    for now, _, _, got, want in replay(v, exact, ops):
        assert got == want
        for s in range(6):
            assert v.source_counts(s, now) == exact.counts(s, now)


@cases(500)
@given(
    click_ops(24, 120),
    st.integers(1, 12),
    st.sampled_from([10.0, 60.0]),
    st.integers(0, 3),
)
def test_click_validator_bound_under_memory_pressure(
    ops: list[Op], slots: int, window: float, seed: int
) -> None:
    """With fewer slots than sources, a source's counts are still the exact counts of its
    events from one of them less than ``window`` seconds ago up to now (or zero), hence
    never above its sliding-window counts; every verdict applies the rules to them."""
    v = ClickValidator(
        min_seconds=0.5, ctr_window=window, max_ctr=0.3, min_impressions=2, slots=slots, seed=seed
    )
    log = ref.EventLog()
    for now, source, kind, got, _ in replay(v, None, ops):
        log.add(source, now, kind != 0)
        imps, clicks = v.source_counts(source, now)
        assert (imps, clicks) in log.suffix_counts(source, now, window)
        if got is not None and got[1] in ("", "abnormal_ctr"):
            assert (got[1] == "abnormal_ctr") == (imps >= 2 and clicks > 0.3 * imps)
        for s in {s for s, _, _ in ops}:
            counts = v.source_counts(s, now)
            assert counts in log.suffix_counts(s, now, window)
            sliding = log.sliding_counts(s, now, window)
            assert counts[0] <= sliding[0] and counts[1] <= sliding[1]


def test_click_validator_same_seed_same_verdicts_and_pickles() -> None:
    ops = [(s % 7, 0.5, (s * 5) % 3) for s in range(300)]

    def run(v: ClickValidator) -> list:
        return [got for _, _, _, got, _ in replay(v, None, ops)]

    a, b = ClickValidator(slots=4, seed=3), ClickValidator(slots=4, seed=3)
    assert run(a) == run(b)
    c = pickle.loads(pickle.dumps(a))
    assert run(c) == run(a)
    assert repr(c).startswith("ClickValidator(min_seconds=1.0")
