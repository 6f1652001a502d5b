"""The simulation report: a self-contained HTML page with the summary and embedded plots."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import msgspec
import pytest

from adcore.errors import AdcoreError
from adcore.sim import METRICS, SCENARIOS, SimResults, simulate
from adcore.sim.report import ReportError, write_report
from adcore.sim.results import VALUE_METRICS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VOID = {"meta", "img", "br", "hr", "link", "input", "col", "wbr", "source", "area"}
DATA_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


class Page(HTMLParser):
    """Collects tags, checks they nest, and keeps each table's rows as lists of cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tables: dict[str, list[list[tuple[str, str]]]] = {}
        self._table: str | None = None
        self._row: list[tuple[str, str]] | None = None
        self._cell: list[str] | None = None
        self._cell_class = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "table":
            self._table = a.get("class") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            self._cell_class = a.get("class") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
            return
        self.stack.pop()
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(("".join(self._cell).strip(), self._cell_class))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


@pytest.fixture(scope="module")
def results() -> SimResults:
    # The alias "baseline" names the naive arm; results use the canonical name.
    return simulate(
        "quick", arms=("agents", "monolith", "baseline"), requests=2000, seeds=2, progress=False
    )


@pytest.fixture(scope="module")
def report(results: SimResults, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(results, tmp_path_factory.mktemp("report") / "nested" / "dir")


def test_page_is_written_and_is_well_formed_html(report: Path) -> None:
    assert report.name == "report.html"
    assert report.is_file()
    page = parse(report.read_text(encoding="utf-8"))
    assert page.errors == []
    assert page.stack == []
    for tag in ("html", "head", "title", "body", "h1", "table", "img"):
        assert tag in page.tags
    assert "script" not in page.tags


def test_page_names_the_scenario_and_seeds(report: Path, results: SimResults) -> None:
    text = report.read_text(encoding="utf-8")
    assert "quick" in text
    assert results.scenario.description in text
    assert "seeds: 0, 1" in text


def test_summary_table_has_one_row_per_metric(report: Path, results: SimResults) -> None:
    """One column per arm, then one comparison column per other arm."""
    table = parse(report.read_text(encoding="utf-8")).tables["summary"]
    header, rows = table[0], table[1:]
    assert results.arms == ("agents", "monolith", "naive")
    assert [c for c, _ in header][1:4] == list(results.arms)
    assert header[4][0] == "agents vs monolith (95% CI)"
    assert header[5][0] == "agents vs naive (95% CI)"
    assert [r[0][0] for r in rows] == [label for label, _ in METRICS.values()]
    assert all(len(r) == 1 + len(results.arms) + 2 for r in rows)


@pytest.mark.parametrize("column", [0, 1])
def test_summary_values_and_colours_follow_the_summary(
    report: Path, results: SimResults, column: int
) -> None:
    rows = parse(report.read_text(encoding="utf-8")).tables["summary"][1:]
    by_label = {r[0][0]: r for r in rows}
    coloured = 0
    ref = results.arms[1 + column]
    for s in results.summary(ref):
        cells = by_label[s.label]
        for k, arm in enumerate(results.arms, start=1):
            number, *rest = cells[k][0].split()
            assert float(number) == pytest.approx(s.means[arm], rel=1e-3, abs=1e-12)
            if s.metric in VALUE_METRICS:
                # The arm's delivery beside every value metric.
                delivery = results.summary(ref)[list(METRICS).index("delivery")].means[arm]
                assert rest == ["delivery", f"{delivery:.0%}"], s.metric
            else:
                assert rest == [], s.metric
        text, cls = cells[len(results.arms) + 1 + column]
        if s.uplift is None:
            assert text == "n/a" and cls == ""
            continue
        assert text.startswith(f"{s.uplift:+.1%}")
        if s.higher_is_better is None:
            assert cls == "", s.metric
        elif s.uplift != 0:
            good = (s.uplift > 0) == s.higher_is_better
            assert cls.split()[0] == ("good" if good else "bad"), s.metric
            assert s.ci_low is not None and s.ci_high is not None
            certain = s.ci_low > 0 or s.ci_high < 0
            assert ("weak" in cls.split()) == (not certain), s.metric
            coloured += 1
    assert coloured >= 5


def test_spend_table_has_one_row_per_campaign(report: Path, results: SimResults) -> None:
    table = parse(report.read_text(encoding="utf-8")).tables["spend"]
    ids = list(results.runs[0].campaign_ids)
    assert [r[0][0] for r in table[1:]] == ids
    # The first campaign's share of budget for the first arm, as a percentage.
    run = [results.run(results.arms[0], s) for s in results.seeds]
    share = sum(r.spend[0] for r in run) / sum(r.daily_budget[0] for r in run)
    assert table[1][3][0] == f"{share:.0%}"


def test_plots_are_embedded_pngs_identical_to_the_files(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    embedded = [base64.b64decode(m, validate=True) for m in DATA_URI.findall(text)]
    assert len(embedded) >= 4
    assert all(png.startswith(PNG_SIGNATURE) for png in embedded)
    files = sorted(report.parent.glob("*.png"))
    assert len(files) == len(embedded)
    assert sorted(f.read_bytes() for f in files) == sorted(embedded)
    for f in files:
        assert f"<code>{f.name}</code>" in text


def test_hostile_description_is_escaped(tmp_path: Path) -> None:
    hostile = msgspec.structs.replace(
        SCENARIOS["quick"], name='q"<i>', description="<script>alert(1)</script>"
    )
    results = simulate(hostile, requests=2000, seeds=1, progress=False)
    text = write_report(results, tmp_path).read_text(encoding="utf-8")
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    page = parse(text)
    assert "script" not in page.tags and "i" not in page.tags
    assert page.errors == []


def test_single_arm_has_no_comparison(tmp_path: Path) -> None:
    results = simulate("quick", arms=("agents",), requests=2000, seeds=1, progress=False)
    table = parse(write_report(results, tmp_path).read_text(encoding="utf-8")).tables["summary"]
    assert [c for c, _ in table[0]] == ["metric", "agents"]
    assert len(table) == 1 + len(METRICS)


def test_unknown_reference_is_rejected(results: SimResults, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reference arm 'nope'"):
        write_report(results, tmp_path / "out", reference="nope")
    assert not (tmp_path / "out").exists()


def test_missing_matplotlib_raises_report_error(
    results: SimResults, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ReportError, match=re.escape("pip install 'adcore[plots]'")) as info:
        write_report(results, tmp_path / "out")
    assert isinstance(info.value, AdcoreError)
    assert isinstance(info.value, ImportError)
    assert not (tmp_path / "out").exists()


def test_no_global_matplotlib_state_is_touched(tmp_path: Path) -> None:
    """Importing the module imports no matplotlib; writing a report imports no pyplot and
    leaves rcParams (and so the default backend) as they were."""
    code = (
        "import sys\n"
        "import adcore.sim.report as report\n"
        "assert 'matplotlib' not in sys.modules\n"
        "import matplotlib\n"
        # Read rcParams as a plain dict: its own __getitem__('backend') resolves the
        # default backend, importing pyplot, which is what must not happen.
        "def snapshot():\n"
        "    return dict(dict.items(matplotlib.rcParams))\n"
        "before = snapshot()\n"
        "from adcore.sim import simulate\n"
        "results = simulate('quick', requests=500, seeds=1, progress=False)\n"
        f"report.write_report(results, {str(tmp_path)!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
        "assert snapshot() == before\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_one_reference_by_name_or_alias(results: SimResults, tmp_path: Path) -> None:
    text = write_report(results, tmp_path, reference="baseline").read_text(encoding="utf-8")
    header = parse(text).tables["summary"][0]
    assert [c for c, _ in header] == [
        "metric",
        "agents",
        "monolith",
        "naive",
        "agents vs naive (95% CI)",
    ]
    spend = parse(text).tables["spend"][0]
    assert [c for c, _ in spend][2:4] == ["agents spend", "agents delivery"]
