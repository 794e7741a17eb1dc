"""The typed Python layer type-checks against its own stubs (mypy)."""

from __future__ import annotations

import sys


def test_package_type_checks() -> None:
    from mypy import api

    stdout, stderr, status = api.run(
        ["-p", "driftline", "--python-executable", sys.executable, "--ignore-missing-imports"]
        + ["--no-incremental", "--cache-dir=/dev/null"]
    )
    assert status == 0, f"mypy:\n{stdout}{stderr}"
    # Every module and the _core stub were checked, not an empty set.
    import re

    checked = re.search(r"no issues found in (\d+) source files", stdout)
    assert checked and int(checked.group(1)) >= 9, stdout
