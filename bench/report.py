"""Turns a pytest-benchmark JSON file into the README's ratio table.

    python bench/report.py bench.json

For each group it prints every entry's median time, values per second and its
ratio to the group's baseline: the entry marked extra_info["baseline"], else the
driftline entry (ratio > 1: the baseline is faster).
"""

from __future__ import annotations

import json
import platform
import sys
from collections import defaultdict


def main(path: str) -> None:
    with open(path) as f:
        data = json.load(f)
    groups: dict[str, list[dict]] = defaultdict(list)
    for bench in data["benchmarks"]:
        groups[bench["group"]].append(bench)
    machine = data.get("machine_info", {})
    print(f"machine: {machine.get('cpu', {}).get('brand_raw', platform.processor())}, "
          f"{machine.get('cpu', {}).get('count', '?')} cores, python {machine.get('python_version')}")
    print()
    print("| group | implementation | median | values/s | baseline speed-up |")
    print("|---|---|---:|---:|---:|")
    for group, entries in groups.items():
        ours = [e for e in entries if e.get("extra_info", {}).get("baseline")]
        ours = ours or [e for e in entries if "driftline" in e["name"]]
        base = ours[0]["stats"]["median"] if ours else None
        for e in sorted(entries, key=lambda e: e["stats"]["median"]):
            median = e["stats"]["median"]
            n = e.get("extra_info", {}).get("values")
            rate = f"{n / median / 1e6:,.0f} M" if n else ""
            ratio = f"{median / base:.2f}x" if base else ""
            name = e["name"].split("[")[0].replace("test_", "")
            print(f"| {group} | {name} | {median * 1e3:.2f} ms | {rate} | {ratio} |")


if __name__ == "__main__":
    main(sys.argv[1])
