"""Report.to_html: a self-contained page, its content, its size, and how it renders in a real headless browser."""

from __future__ import annotations

import os
import shutil
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import driftline as dl
from driftline import chunked
from driftline.report import Report

from helpers import Clock

FEATURES, ROWS = 200, 1_000_000


class Page(HTMLParser):
    """What a page holds, read with the standard library's HTML parser: tags, ids, text, and any link out."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.ids: dict[str, str] = {}
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Any]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        if "id" in attributes:
            assert attributes["id"] not in self.ids, f"duplicate id {attributes['id']}"
            self.ids[attributes["id"]] = tag

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def external(self) -> list[str]:
        """Every reference to another resource: the page must need none."""
        refs = []
        for tag, attrs in self.tags:
            for key in ("src", "href", "xlink:href"):
                value = attrs.get(key, "")
                if value and not value.startswith("#"):
                    refs.append(f"{tag} {key}={value}")
            if tag == "link":
                refs.append(f"link {attrs}")
        return refs


def wide_data(rows: int, seed: int, drifted: int = 0) -> dict[str, np.ndarray]:
    """FEATURES columns, every tenth categorical; of the first ``drifted`` numeric columns, half shifted by 1 (alert), half by 0.45 (warn)."""
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {}
    cities = np.array(["paris", "rome", "oslo", "lima", "pune"], dtype=object)
    for i in range(FEATURES):
        if i % 10 == 9:
            data[f"c{i:03d}"] = cities[rng.integers(0, 5, rows)]
        else:
            x = rng.normal(0, 1, rows)
            data[f"x{i:03d}"] = x + (1.0 if i < drifted // 2 else 0.45 if i < drifted else 0.0)
    return data


@pytest.fixture(scope="module")
def big_report() -> Report:
    """A 200-feature comparison of 1M rows (read in 100k-row chunks, so the test's memory stays small)."""
    reference = dl.Profile.from_data(wide_data(50_000, seed=0))
    chunk = 100_000
    source = chunked.Chunks(lambda: (wide_data(chunk, seed=1 + i, drifted=12) for i in range(ROWS // chunk)))
    report = chunked.compare(reference, source)
    assert report.rows == ROWS and len(report.features) == FEATURES
    return report


def training() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2)
    return {"x": rng.normal(0, 1, 20_000), "city": rng.choice(["a", "b", "c"], 20_000)}


def monitor_with_incident() -> tuple[dl.Monitor, np.ndarray, np.ndarray, np.ndarray]:
    profile = dl.Profile.from_data(training())
    rng = np.random.default_rng(3)
    clock = Clock(0.0)
    monitor = dl.Monitor(profile, window=600, bucket=60, clock=clock)
    xs, cities, times = [], [], []
    for bucket in range(10):
        x = rng.normal(2.0 if bucket == 6 else 0.0, 1, 3_000)  # an incident in the seventh bucket
        city = rng.choice(["a", "b", "c", "zz"], 3_000, p=[0.3, 0.3, 0.3, 0.1])
        t = bucket * 60 + rng.uniform(0, 60, 3_000)
        clock.t = bucket * 60 + 60.0
        batch = {"x": x, "city": city}
        if bucket == 8:  # an upstream team adds a field
            batch["extra_field"] = np.ones(3_000)
        monitor.observe(batch, t=t)
        xs.append(x)
        cities.append(city)
        times.append(t)
    monitor.observe_latency(rng.exponential(0.01, 500), t=599.0)
    return monitor, np.concatenate(xs), np.concatenate(cities), np.concatenate(times)


def test_monitor_detail_report_distributions_and_timeline_match_numpy() -> None:
    monitor, xs, cities, times = monitor_with_incident()
    plain, detailed = monitor.report(), monitor.report(detail=True)
    timeline = detailed.timeline
    # At t=600 the window's buckets start at 60 ... 540 (the first one has expired into the newest's slot).
    assert timeline is not None and timeline.starts == tuple(float(60 * b) for b in range(1, 10))
    in_span = times >= timeline.starts[0]
    xs, cities = xs[in_span], cities[in_span]
    assert plain.timeline is None and all(f.distribution is None for f in plain.features.values())
    # Everything else is the same report.
    for name in plain.features:
        assert plain.features[name] == dl.report.FeatureReport(**{
            **detailed.features[name].__dict__, "distribution": None
        })
    assert (plain.status, plain.reasons, plain.rows) == (detailed.status, detailed.reasons, detailed.rows)

    edges = monitor.profile["x"].edges
    cells = np.bincount(np.searchsorted(edges, xs, side="right"), minlength=len(edges) + 1)
    x = detailed.features["x"].distribution
    assert x is not None and len(x.labels) == len(edges) + 1
    np.testing.assert_allclose(x.current, cells / cells.sum(), rtol=1e-12)
    reference = np.bincount(np.searchsorted(edges, training()["x"], side="right"), minlength=len(edges) + 1)
    np.testing.assert_allclose(x.reference, reference / reference.sum(), rtol=1e-12)
    city = detailed.features["city"].distribution
    order = list(city.labels[:-1]) if city is not None else []
    assert city is not None and sorted(order) == ["a", "b", "c"] and city.labels[-1] == "(other)"
    expected = np.array([np.sum(cities == c) for c in order + ["zz"]], dtype=float)
    np.testing.assert_allclose(city.current, expected / expected.sum(), rtol=1e-12)

    incident = timeline.starts.index(360.0)
    levels = timeline.levels["x"]
    assert levels[incident] == 2 and set(levels[:incident] + levels[incident + 1 :]) == {0}


def test_batch_comparison_distribution_is_the_current_data_over_the_reference_cells() -> None:
    rng = np.random.default_rng(5)
    profile = dl.Profile.from_data({"x": rng.normal(size=10_000)})
    current = rng.normal(0.3, 1, 7_000)
    d = dl.compare(profile, {"x": current}).features["x"].distribution
    edges = profile["x"].edges
    cells = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1)
    assert d is not None
    np.testing.assert_allclose(d.current, cells / cells.sum(), rtol=1e-12)
    assert d.labels[0].startswith("<") and d.labels[-1].startswith(">=")


def test_page_is_self_contained_and_holds_every_section(tmp_path: Path) -> None:
    monitor, *_ = monitor_with_incident()
    report = monitor.report(detail=True)
    path = tmp_path / "monitor.html"
    report.to_html(path)
    text = path.read_text(encoding="utf-8")
    page = Page(text)
    assert page.external() == []
    assert {"status", "features", "filter", "timeline", "f-x", "f-city", "schema", "latency", "reasons"} <= set(page.ids)
    assert "ALERT" in page.text and report.status == "alert"
    assert any("unexpected: extra_field" in t for t in page.text)
    rows = [a for tag, a in page.tags if tag == "tr" and "data-status" in a]
    assert sorted(r["data-status"] for r in rows) == sorted(str(f.status) for f in report.features.values())
    # A sampled report (detail off) renders too: a table, no plots or timeline.
    plain = Page(_render(monitor.report()))
    assert "features" in plain.ids and "timeline" not in plain.ids and "f-x" not in plain.ids


def _render(report: Report) -> str:
    from driftline._html import render

    return render(report)


def test_text_from_data_is_escaped() -> None:
    hostile = "<script>alert('x')</script>"
    rng = np.random.default_rng(0)
    profile = dl.Profile.from_data({hostile: rng.normal(size=5_000), "k": rng.choice([hostile, "b&c"], 5_000)})
    current = {hostile: rng.normal(3, 1, 5_000), "k": rng.choice([hostile, "<img src=x onerror=alert(1)>"], 5_000)}
    current["\"quote'd"] = np.ones(5_000)
    text = _render(dl.compare(profile, current))
    assert "<script>alert" not in text and "<img src=x" not in text and text.count("<script>") == 1
    page = Page(text)
    assert all(tag in {"html", "head", "meta", "title", "style", "body", "h1", "h2", "span", "div", "ul", "li", "input",
                       "table", "thead", "tbody", "tr", "th", "td", "a", "details", "summary", "svg", "line", "g",
                       "rect", "text", "title", "script"} for tag, _ in page.tags)
    assert hostile in "".join(page.text)  # shown, as text


def test_a_200_feature_1m_row_report_is_small(big_report: Report, tmp_path: Path) -> None:
    path = tmp_path / "big.html"
    big_report.to_html(path)
    size = path.stat().st_size
    assert size < 2 * 1024 * 1024, size
    page = Page(path.read_text(encoding="utf-8"))
    assert sum(1 for tag, a in page.tags if tag == "tr" and "data-status" in a) == FEATURES
    assert sum(1 for tag, a in page.tags if tag == "details" and a.get("id", "").startswith("f-")) == FEATURES
    flagged = {n for n, f in big_report.features.items() if f.status in ("warn", "alert")}
    assert flagged == {f"x{i:03d}" for i in range(12) if i != 9} and big_report.status == "alert"


# -- a real browser ---------------------------------------------------------------


def chromium() -> str:
    """The headless Chromium to drive; skipped when absent unless DRIFTLINE_REQUIRE_BROWSER=1 (CI sets it)."""
    required = os.environ.get("DRIFTLINE_REQUIRE_BROWSER") == "1"
    for name in (os.environ.get("DRIFTLINE_CHROMIUM", ""), "chromium-headless-shell", "chromium"):
        # PATH, then the system's default path (.ci/wheel runs the suite with PATH cut down to a venv)
        found = (shutil.which(name) or shutil.which(name, path=os.defpath)) if name else None
        if found:
            return found
    if required:
        pytest.fail("no chromium-headless-shell or chromium on PATH (run .ci/browser)")
    pytest.skip("no headless Chromium here (apt-get install chromium-headless-shell, or .ci/browser)")


@pytest.fixture(scope="module")
def browser() -> Any:
    if os.environ.get("DRIFTLINE_REQUIRE_BROWSER") == "1":
        from playwright.sync_api import sync_playwright
    else:
        sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    executable = chromium()
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield instance
        instance.close()


def open_page(browser: Any, path: Path) -> tuple[Any, list[str], float]:
    """Opens the file; returns the page, its console errors and uncaught exceptions, and the load time in seconds."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("request", lambda r: errors.append(f"request: {r.url}") if not r.url.startswith("file:") else None)
    start = time.perf_counter()
    page.goto(path.resolve().as_uri(), wait_until="load")
    elapsed = time.perf_counter() - start
    return page, errors, elapsed


def table_column(page: Any, column: int) -> list[str]:
    return page.eval_on_selector_all(
        "#features tbody tr", f"rows => rows.map(r => r.cells[{column}].getAttribute('data-v'))"
    )


def test_big_report_in_a_headless_browser(browser: Any, big_report: Report, tmp_path: Path) -> None:
    path = tmp_path / "big.html"
    big_report.to_html(path)
    page, errors, elapsed = open_page(browser, path)
    assert errors == []
    assert elapsed < 2.0, elapsed
    loaded = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    assert 0 < loaded < 2000
    assert page.inner_text("#status") == str(big_report.status).upper()
    names = page.eval_on_selector_all("#features tbody tr td.name", "cells => cells.map(c => c.textContent)")
    assert sorted(names) == sorted(big_report.features)
    statuses = page.eval_on_selector_all("#features tbody tr", "rows => rows.map(r => r.cells[2].textContent)")
    assert dict(zip(names, statuses)) == {n: str(f.status) for n, f in big_report.features.items()}
    assert page.is_visible("#f-x000 svg")  # a flagged feature's plot is open

    psi_header = page.locator("#features thead th").nth(4)
    psi_header.click()  # ascending
    psis = [float(v) for v in table_column(page, 4)]
    assert psis == sorted(f.psi for f in big_report.features.values() if f.psi is not None)
    psi_header.click()  # descending
    assert [float(v) for v in table_column(page, 4)] == sorted(psis, reverse=True)
    page.locator("#features thead th").nth(0).click()
    assert [c for c in page.eval_on_selector_all("#features tbody td.name", "c => c.map(x => x.textContent)")] == sorted(names)

    page.fill("#filter", "c19")
    visible = page.eval_on_selector_all(
        "#features tbody tr", "rows => rows.filter(r => r.style.display !== 'none').map(r => r.cells[0].textContent)"
    )
    assert visible == ["c199"]
    shot = tmp_path / "big.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    assert errors == []
    page.close()


def test_monitor_report_in_a_headless_browser(browser: Any, tmp_path: Path) -> None:
    monitor, *_ = monitor_with_incident()
    path = tmp_path / "monitor.html"
    monitor.report(detail=True).to_html(path)
    page, errors, _ = open_page(browser, path)
    assert errors == []
    assert page.inner_text("#status") == "ALERT"
    assert page.locator("#timeline rect").count() >= 3  # ok, the incident, ok again
    assert "p99" in page.inner_text("#latency")
    assert "extra_field" in page.inner_text("#schema")
    page.screenshot(path=str(tmp_path / "monitor.png"), full_page=True)
    page.close()
