"""The README's code runs as written (its blocks, in order, in one namespace)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the examples write files
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 4
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["window"].total == 10_000
    flagged = [name for name, f in namespace["comparison"].features.items() if f.status != "ok"]
    assert flagged == ["age", "income", "balance_ratio", "has_partner", "channel", "region"]
    report = namespace["report"]
    assert report.features["country"].unseen_examples == ("NL",)
    # The replayed rows filled completed buckets that match the reference; the drifted
    # batch sits in the open bucket, which is not judged yet but shows in the span's PSI.
    assert report.features["age"].status == "ok"
    assert report.features["age"].psi > report.features["age"].psi_noise_floor  # the mean moved by 5
    assert namespace["merged"].rows == 2 * namespace["monitor"].rows
    assert 'driftline_feature_status{feature="country",model="fraud-v3"}' in namespace["text"]
    assert {"driftline.status", "driftline.feature_psi", "driftline.rows"} <= set(namespace["otel_names"])
    assert 0.01 < namespace["dl"].psi(namespace["reference_hist"], namespace["current"]) < 0.1
