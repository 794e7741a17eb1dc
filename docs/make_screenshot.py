"""Writes docs/report.png: a demo batch comparison's HTML report, rendered by headless Chromium.

    python docs/make_screenshot.py      # needs playwright (the `test` extra) and chromium-headless-shell (.ci/browser)
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

import driftline as dl

HERE = Path(__file__).resolve().parent


def loans(rows: int, seed: int, drifted: bool) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10.8 + (0.25 if drifted else 0.0), 0.5, rows)
    age = rng.normal(41, 12, rows).clip(18, 90)
    data = {
        "income": income,
        "age": age,
        "loan_amount": rng.gamma(2.0, 6_000, rows),
        "debt_to_income": rng.beta(2, 5 if not drifted else 3.5, rows),
        "credit_lines": rng.poisson(4, rows).astype(float),
        "months_employed": rng.exponential(60, rows),
        "score": rng.normal(680, 50, rows),
        "channel": rng.choice(np.array(["web", "branch", "partner", "app"], dtype=object), rows,
                              p=[0.4, 0.3, 0.2, 0.1] if not drifted else [0.3, 0.2, 0.2, 0.3]),
        "region": rng.choice(np.array(["north", "south", "east", "west"], dtype=object), rows),
    }
    data["score"][rng.random(rows) < (0.08 if drifted else 0.01)] = np.nan
    return data


def main() -> None:
    from playwright.sync_api import sync_playwright

    reference = dl.Profile.from_data(loans(200_000, 0, drifted=False))
    current = loans(100_000, 1, drifted=True)
    current["zip_code"] = np.zeros(100_000)  # a new upstream field
    current["region_code"] = current.pop("region")  # and a rename
    page_path = Path(tempfile.mkdtemp()) / "report.html"
    dl.compare(reference, current).to_html(page_path)
    chromium = shutil.which("chromium-headless-shell") or shutil.which("chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1240, "height": 1300})
        page.goto(page_path.as_uri(), wait_until="load")
        page.screenshot(path=str(HERE / "report.png"))
        browser.close()
    print(f"wrote {HERE / 'report.png'} (the page: {page_path})")


if __name__ == "__main__":
    main()
