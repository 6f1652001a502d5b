"""Catalog validation and compilation into the kernels' arrays."""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
import pytest

from adcore import Ad, Campaign, Catalog, Creative, FrequencyCap, InvalidCatalog, Targeting

EMB = (0.5, 0.5, 0.5, 0.5)


def camp(**kw: Any) -> Campaign:
    base: dict[str, Any] = {"id": "c1", "advertiser": "A", "daily_budget": 1_000_000}
    base.update(kw)
    return Campaign(**base)


def ad(**kw: Any) -> Ad:
    base: dict[str, Any] = {
        "id": "a1",
        "campaign": "c1",
        "format": "audio",
        "embedding": EMB,
        "duration": 30.0,
        "mimes": ("audio/mpeg",),
    }
    base.update(kw)
    return Ad(**base)


def test_a_valid_catalog_compiles_to_read_only_arrays() -> None:
    cat = Catalog(
        [
            camp(),
            camp(
                id="c2",
                total_budget=5_000_000,
                deals=("D1",),
                targeting=Targeting(countries=("USA",), hours=(6, 7)),
            ),
        ],
        [
            ad(),
            ad(
                id="a2",
                campaign="c2",
                format="display",
                duration=0.0,
                sizes=((300, 250), (728, 90)),
                categories=("IAB2-1",),
                adomain=("b.example",),
            ),
            ad(
                id="a3",
                variants=(
                    Creative(id="a3-15", duration=15.0),
                    Creative(id="a3-30", duration=30.0, mimes=("audio/aac",)),
                ),
            ),
        ],
    )
    s = cat.snapshot
    assert (s.n_ads, s.n_campaigns, s.dimension) == (3, 2, 4)
    # ads are stored grouped by campaign, keeping their order within a campaign
    assert s.ad_ids == ("a1", "a3", "a2")
    assert s.ad_campaign.tolist() == [0, 0, 1]
    assert s.camp_ad_ptr.tolist() == [0, 2, 3]
    assert s.ad_format.tolist() == [2, 2, 0]
    assert s.var_ptr.tolist() == [0, 1, 3, 4]
    assert s.var_ids == ("a1", "a3-15", "a3-30", "a2")
    assert s.var_duration.tolist() == [30.0, 15.0, 30.0, 0.0]
    assert s.size_ptr.tolist() == [0, 0, 0, 2]
    assert s.size_wh.tolist() == [[300, 250], [728, 90]]
    assert s.camp_total.tolist() == [-1, 5_000_000]
    assert s.camp_hours.tolist() == [0, (1 << 6) | (1 << 7)]
    # a sub-category brings its parent, so blocking IAB2 blocks IAB2-1
    bits = s.categories.bits(["IAB2"])
    assert (s.ad_categories[s.ad_index["a2"]] & bits).any()
    assert not (s.ad_categories[s.ad_index["a1"]] & bits).any()
    for name in ("ad_campaign", "ad_embedding", "camp_daily", "var_mimes"):
        with pytest.raises(ValueError):
            getattr(s, name)[0] = 1


@pytest.mark.parametrize(
    ("campaigns", "ads", "field"),
    [
        ([camp(), camp()], [], "campaigns[1].id"),
        ([camp(daily_budget=-1)], [], "campaigns[0].daily_budget"),
        ([camp(total_budget=-5)], [], "campaigns[0].total_budget"),
        ([camp(max_bid=float("nan"))], [], "campaigns[0].max_bid"),
        ([camp(bid=-1.0)], [], "campaigns[0].bid"),
        ([camp(start=10.0, end=5.0)], [], "campaigns[0].end"),
        (
            [camp(frequency_cap=FrequencyCap(impressions=0, window=60.0))],
            [],
            "campaigns[0].frequency_cap.impressions",
        ),
        ([camp(targeting=Targeting(hours=(24,)))], [], "campaigns[0].targeting.hours"),
        ([camp(targeting=Targeting(device_types=(0,)))], [], "campaigns[0].targeting.device_types"),
        ([camp(daily_budget="lots")], [], "campaigns[0].daily_budget"),
        ([camp()], [ad(), ad()], "ads[1].id"),
        ([camp()], [ad(campaign="nope")], "ads[0].campaign"),
        ([camp()], [ad(), ad(id="a2", embedding=(1.0, 2.0))], "ads[1].embedding"),
        ([camp()], [ad(embedding=(1.0, float("inf"), 0.0, 0.0))], "ads[0].embedding"),
        ([camp()], [ad(format="hologram")], "ads[0].format"),
        ([camp()], [ad(base_rate=1.0)], "ads[0].base_rate"),
        ([camp()], [ad(variants=(Creative(id="v"), Creative(id="v")))], "ads[0].variants[1].id"),
        ([camp()], [ad(sizes=((0, 50),))], "ads[0].sizes[0]"),
        (["not a campaign"], [], "campaigns[0]"),
    ],
)
def test_invalid_catalogs_name_the_field(campaigns: list[Any], ads: list[Any], field: str) -> None:
    with pytest.raises(InvalidCatalog) as info:
        Catalog(campaigns, ads, dimension=4)
    assert info.value.field == field


def test_empty_catalog_needs_a_dimension() -> None:
    with pytest.raises(InvalidCatalog) as info:
        Catalog([], [])
    assert info.value.field == "dimension"
    assert Catalog([], [], dimension=8).snapshot.n_ads == 0


def test_round_trip_through_json() -> None:
    cat = Catalog(
        [camp(frequency_cap=FrequencyCap(impressions=2, window=60.0))],
        [ad(variants=(Creative(id="v1", duration=15.0),))],
        signals={"genre:rock": EMB},
    )
    again = Catalog.from_json(msgspec.json.encode(cat.to_dict()))
    assert again.campaigns == cat.campaigns and again.ads == cat.ads
    assert again.signals == cat.signals
    np.testing.assert_array_equal(again.snapshot.ad_embedding, cat.snapshot.ad_embedding)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        (b"{", None),
        (b'{"campaigns": [], "ads": [], "dimension": 4, "colour": 1}', "colour"),
        (b'{"campaigns": [{"id": "c1"}], "ads": [], "dimension": 4}', "campaigns[0].advertiser"),
        (
            b'{"campaigns": [{"id": "c1", "advertiser": "a", "daily_budget": 1, "bid": "x"}],'
            b' "ads": [], "dimension": 4}',
            "campaigns[0].bid",
        ),
        (b'{"campaigns": 5, "ads": []}', "campaigns"),
    ],
)
def test_bad_catalog_files_name_the_key(doc: bytes, field: str | None) -> None:
    with pytest.raises(InvalidCatalog) as info:
        Catalog.from_json(doc)
    assert info.value.field == field
