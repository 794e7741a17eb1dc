"""The typed Python layer type-checks against its own stubs (mypy)."""

from __future__ import annotations

from pathlib import Path

import driftline


def test_package_type_checks() -> None:
    from mypy import api

    package = Path(driftline.__file__).resolve().parent
    files = sorted(str(p) for p in package.glob("*.py")) + [str(package / "_core.pyi")]
    assert len(files) >= 8
    stdout, stderr, status = api.run(
        files + ["--ignore-missing-imports", "--no-incremental", "--cache-dir=/dev/null"]
    )
    assert status == 0, f"mypy on {package}:\n{stdout}{stderr}"
    assert f"in {len(files)} source files" in stdout
