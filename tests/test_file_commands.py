"""``driftline profile`` and ``driftline compare`` on Parquet and CSV files: outputs, exit codes, errors, memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import driftline as dl
from driftline import cli
from driftline.profile import NumericFeature

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pcsv = pytest.importorskip("pyarrow.csv")


def frame(n: int, seed: int, shift: float = 0.0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(5 + shift, 2, n)
    x[::101] = np.nan
    return {
        "x": x,
        "age": rng.integers(18, 90, n),  # int64 column
        "score": rng.exponential(size=n).astype(np.float32),
        "city": rng.choice(np.array(["paris", "rome", "oslo"], dtype=object), n, p=[0.5, 0.3, 0.2]),
    }


def table(data: dict[str, np.ndarray]) -> Any:
    return pa.table({k: pa.array(v, from_pandas=True) for k, v in data.items()})


def write_parquet(path: Path, data: dict[str, np.ndarray], row_group: int = 10_000) -> Path:
    pq.write_table(table(data), path, row_group_size=row_group)
    return path


def as_read(data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The columns as the file commands see them: numbers as float64, text as objects."""
    return {k: (v if v.dtype == object else v.astype(np.float64)) for k, v in data.items()}


def run(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def reference_data() -> dict[str, np.ndarray]:
    return frame(60_000, seed=0)


@pytest.fixture()
def reference_file(tmp_path: Path, reference_data: dict[str, np.ndarray]) -> Path:
    return write_parquet(tmp_path / "reference.parquet", reference_data)


@pytest.fixture()
def reference_profile(tmp_path: Path, reference_file: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / "reference.drift"
    code, text, err = run("profile", str(reference_file), "-o", str(out), capsys=capsys)
    assert code == 0, err
    assert "profiled 60000 rows" in text and "3 numeric and 1 categorical" in text
    return out


def assert_same_profile(a: dl.Profile, b: dl.Profile) -> None:
    assert a.names == b.names and a.compatible(b)
    for fa, fb in zip(a, b):
        assert fa.histogram == fb.histogram, fa.name
        if isinstance(fa, NumericFeature):
            assert isinstance(fb, NumericFeature)
            np.testing.assert_array_equal(fa.edges, fb.edges)
            assert (fa.count, fa.min, fa.max) == (fb.count, fb.min, fb.max)
            np.testing.assert_allclose([fa.mean, fa.m2], [fb.mean, fb.m2], rtol=1e-10)


def test_profile_of_a_parquet_file_equals_the_profile_in_memory(
    reference_profile: Path, reference_data: dict[str, np.ndarray]
) -> None:
    assert_same_profile(dl.Profile.load(reference_profile), dl.Profile.from_data(as_read(reference_data)))


def test_profile_options_categorical_bins_columns(
    tmp_path: Path, reference_file: Path, reference_data: dict[str, np.ndarray], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.drift"
    code, _, err = run(
        "profile", str(reference_file), "-o", str(out), "--categorical", "age", "--bins", "4",
        "--columns", "x,age", "--batch-rows", "777", "--quiet", capsys=capsys,
    )
    assert code == 0, err
    data = as_read(reference_data)
    expected = dl.Profile.from_data({"x": data["x"], "age": data["age"]}, categorical=["age"], bins=4)
    got = dl.Profile.load(out)
    assert got["age"].kind == "categorical" and got.names == ["x", "age"]
    assert_same_profile(got, expected)


@pytest.mark.parametrize("shift, status, code", [(0.0, "ok", 0), (1.5, "alert", 2)])
def test_compare_exit_code_and_outputs_equal_compare_in_memory(
    tmp_path: Path, reference_profile: Path, shift: float, status: str, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    current = frame(40_000, seed=1, shift=shift)
    data = write_parquet(tmp_path / "current.parquet", current, row_group=3_000)
    html, report_json = tmp_path / "r.html", tmp_path / "r.json"
    got, text, err = run(
        "compare", str(reference_profile), str(data), "--html", str(html), "--json", str(report_json), capsys=capsys
    )
    expected = dl.compare(dl.Profile.load(reference_profile), as_read(current))
    assert expected.status == status
    assert got == code, err
    assert json.loads(report_json.read_text()) == json.loads(json.dumps(expected.to_dict()))
    assert text.strip() == str(expected).strip()
    page = html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "city" in page and status in page


def test_warn_and_insufficient_data_exit_codes(
    tmp_path: Path, reference_profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = dl.Profile.load(reference_profile)
    few = frame(40, seed=2)
    path = write_parquet(tmp_path / "few.parquet", few)
    code, _, _ = run("compare", str(reference_profile), str(path), "--quiet", capsys=capsys)
    assert dl.compare(reference, as_read(few)).status == "insufficient data" and code == 3
    # warn: one feature's PSI between the policy's warn and alert levels.
    for shift in np.linspace(0.1, 1.0, 19):
        current = frame(40_000, seed=3)
        current["x"] = current["x"] + shift
        if dl.compare(reference, as_read(current)).status == "warn":
            break
    else:
        pytest.fail("no shift gives warn")
    path = write_parquet(tmp_path / "warn.parquet", current)
    code, _, _ = run("compare", str(reference_profile), str(path), "--quiet", capsys=capsys)
    assert code == 1


def test_folder_of_parquet_files_equals_their_concatenation(
    tmp_path: Path, reference_profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    parts = [frame(n, seed=10 + i, shift=0.3) for i, n in enumerate((5_000, 12_345, 1, 20_000))]
    for i, part in enumerate(parts):
        write_parquet(folder / f"part-{i:03d}.parquet", part, row_group=4_000)
    (folder / "_SUCCESS").write_text("")  # what Spark leaves next to its output: not data
    whole = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    out = tmp_path / "folder.json"
    code, _, err = run("compare", str(reference_profile), str(folder), "--json", str(out), "--quiet", capsys=capsys)
    expected = dl.compare(dl.Profile.load(reference_profile), as_read(whole))
    assert code == {"ok": 0, "warn": 1, "alert": 2}[expected.status], err
    assert json.loads(out.read_text()) == json.loads(json.dumps(expected.to_dict()))
    profile_out = tmp_path / "folder.drift"
    assert run("profile", str(folder), "-o", str(profile_out), "--quiet", capsys=capsys)[0] == 0
    assert_same_profile(dl.Profile.load(profile_out), dl.Profile.from_data(as_read(whole)))


def test_csv_file_profile_and_compare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reference, current = frame(30_000, seed=4), frame(20_000, seed=5, shift=2.0)
    ref_csv, cur_csv = tmp_path / "reference.csv", tmp_path / "current.csv"
    pcsv.write_csv(table(reference), ref_csv)
    pcsv.write_csv(table(current), cur_csv)
    profile = tmp_path / "csv.drift"
    assert run("profile", str(ref_csv), "-o", str(profile), "--quiet", capsys=capsys)[0] == 0
    # Read back through pandas, a reader driftline does not use, for the in-memory side.
    pd = pytest.importorskip("pandas")
    ref_frame, cur_frame = pd.read_csv(ref_csv), pd.read_csv(cur_csv)
    assert_same_profile(dl.Profile.load(profile), dl.Profile.from_data(ref_frame))
    out = tmp_path / "csv.json"
    code, _, err = run("compare", str(profile), str(cur_csv), "--json", str(out), "--quiet", capsys=capsys)
    expected = dl.compare(dl.Profile.load(profile), cur_frame)
    assert expected.status == "alert" and code == 2, err
    assert json.loads(out.read_text()) == json.loads(json.dumps(expected.to_dict()))


def test_a_column_the_profile_does_not_know_is_reported_in_the_schema_not_raised(
    tmp_path: Path, reference_profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    current = frame(30_000, seed=6)
    current["brand_new"] = np.ones(30_000)
    current["town"] = current.pop("city")  # a rename
    path = write_parquet(tmp_path / "renamed.parquet", current)
    out = tmp_path / "renamed.json"
    code, text, err = run("compare", str(reference_profile), str(path), "--json", str(out), capsys=capsys)
    schema = json.loads(out.read_text())["schema"]
    assert code in (1, 2) and err == ""
    assert set(schema["unexpected"]) == {"brand_new", "town"} and set(schema["missing"]) == {"city"}
    assert ["city", "town"] == schema["renames"][0][:2]
    assert "schema" in text and "brand_new" in text


def error_of(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, out, err = run(*args, capsys=capsys)
    assert code == 4, (out, err)
    assert err.startswith("driftline: error: ") and "Traceback" not in err
    return err


def test_errors_exit_4_with_a_message_naming_the_problem(
    tmp_path: Path, reference_file: Path, reference_profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p, ref = str(reference_profile), str(reference_file)
    missing = str(tmp_path / "nope.parquet")
    assert "no such file" in error_of(capsys, "compare", p, missing)
    assert "no such file" in error_of(capsys, "profile", missing, "-o", str(tmp_path / "o.drift"))
    assert "no such file" in error_of(capsys, "compare", str(tmp_path / "nope.drift"), ref)
    assert "not a driftline profile" in error_of(capsys, "compare", ref, ref)  # a data file given as the profile
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1" + os.urandom(5_000) + b"PAR1")
    assert "cannot read it as parquet" in error_of(capsys, "compare", p, str(corrupt))
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(reference_file.read_bytes()[: reference_file.stat().st_size // 2])
    assert "cannot read" in error_of(capsys, "profile", str(truncated), "-o", str(tmp_path / "t.drift"))
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    assert "empty" in error_of(capsys, "compare", p, str(empty))
    no_rows = tmp_path / "no_rows.parquet"
    pq.write_table(table(frame(0, seed=0)), no_rows)
    assert "no rows" in error_of(capsys, "compare", p, str(no_rows))
    assert "no rows" in error_of(capsys, "profile", str(no_rows), "-o", str(tmp_path / "n.drift"))
    header_only = tmp_path / "header.csv"
    header_only.write_text("x,age\n")
    assert "no rows" in error_of(capsys, "compare", p, str(header_only))
    assert "no column named 'height'" in error_of(capsys, "compare", p, ref, "--columns", "x,height")
    assert "cannot tell the format" in error_of(capsys, "compare", p, str(reference_profile))
    assert "is a directory" in error_of(capsys, "profile", ref, "-o", str(tmp_path))
    assert "does not exist" in error_of(capsys, "compare", p, ref, "--html", str(tmp_path / "no" / "r.html"))
    assert "--batch-rows" in error_of(capsys, "compare", p, ref, "--batch-rows", "0")
    empty_folder = tmp_path / "empty_folder"
    empty_folder.mkdir()
    assert "holds no parquet files" in error_of(capsys, "compare", p, str(empty_folder))
    with pytest.raises(SystemExit) as usage:  # argparse's own usage error: 4, not compare's "alert"
        cli.main(["compare", p])
    assert usage.value.code == 4
    assert not (tmp_path / "o.drift").exists() and not (tmp_path / "t.drift").exists()


def test_folder_whose_files_disagree_on_columns_is_an_error(
    tmp_path: Path, reference_profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    write_parquet(folder / "a.parquet", frame(100, seed=0))
    b = frame(100, seed=1)
    del b["age"]
    write_parquet(folder / "b.parquet", b)
    assert "differ" in error_of(capsys, "compare", str(reference_profile), str(folder))


def test_no_progress_output_when_not_a_terminal(tmp_path: Path, reference_profile: Path) -> None:
    data = write_parquet(tmp_path / "c.parquet", frame(20_000, seed=7))
    done = subprocess.run(
        [sys.executable, "-m", "driftline.cli", "compare", str(reference_profile), str(data), "--batch-rows", "100"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no bar, no carriage returns: stderr is a pipe
    assert done.stdout.startswith("driftline report: OK")


def run_on_a_terminal(*args: str) -> tuple[int, bytes]:
    """Runs the command with a pseudo-terminal (100 columns) as its stdin, stdout and stderr."""
    import fcntl
    import pty
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execv(sys.executable, [sys.executable, "-m", "driftline.cli", *args])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    out = b""
    while True:
        try:
            data = os.read(fd, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        out += data
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out


def test_a_progress_bar_on_a_terminal_for_a_pass_longer_than_two_seconds(tmp_path: Path, reference_profile: Path) -> None:
    pytest.importorskip("tqdm")
    data = write_parquet(tmp_path / "slow.parquet", frame(60_000, seed=8))
    # 10-row batches: 6,000 of them, about 4 s here, so the bar (shown after 2 s) appears.
    code, out = run_on_a_terminal("compare", str(reference_profile), str(data), "--batch-rows", "10")
    assert code == 0 and b"comparison:" in out and b"rows/s" in out
    assert out.rstrip().endswith(b"0.0%")  # the report's last row, after the bar was cleared
    code, out = run_on_a_terminal("compare", str(reference_profile), str(data), "--quiet")
    assert code == 0 and out == b""


# A file larger than the memory the process may use: the command must read it in batches.
LIMITED_RUN = textwrap.dedent(
    """
    import resource, sys
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from driftline import cli
    code = cli.main(sys.argv[2:])
    peak = [int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM")][0]
    print("peak-rss", peak)
    sys.exit(code)
    """
)
MEMORY_LIMIT = 768 << 20  # address space, not RSS: an import of numpy + pyarrow + driftline reserves ~580 MB


def test_a_file_larger_than_the_memory_limit(tmp_path: Path) -> None:
    rows_per_group, groups, columns = 1 << 20, 14, 8  # 14 Mi rows x 8 float64 = 896 MiB, uncompressed
    path = tmp_path / "big.parquet"
    rng = np.random.default_rng(0)
    schema = pa.schema([(f"c{i}", pa.float64()) for i in range(columns)])
    with pq.ParquetWriter(path, schema, compression="none", use_dictionary=False, write_statistics=False) as writer:
        for g in range(groups):
            block = rng.normal(size=(columns, rows_per_group))
            writer.write_table(pa.table({f"c{i}": block[i] for i in range(columns)}, schema=schema))
    assert path.stat().st_size > MEMORY_LIMIT
    env = dict(os.environ, ARROW_DEFAULT_MEMORY_POOL="system", MALLOC_ARENA_MAX="2", OPENBLAS_NUM_THREADS="1")

    def limited(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", LIMITED_RUN, str(MEMORY_LIMIT), *args],
            capture_output=True, text=True, timeout=600, env=env,
        )

    # The limit is real: reading the whole file at once fails under it.
    whole = subprocess.run(
        [sys.executable, "-c", "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]),) * 2);"
         "import pyarrow.parquet as pq; pq.read_table(sys.argv[2])", str(MEMORY_LIMIT), str(path)],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert whole.returncode != 0 and ("MemoryError" in whole.stderr or "alloc" in whole.stderr.lower())

    profile = tmp_path / "big.drift"
    made = limited("profile", str(path), "-o", str(profile), "--quiet")
    assert made.returncode == 0, made.stderr
    reference = dl.Profile.load(profile)
    for feature in reference:
        assert feature.total == rows_per_group * groups
        # Standard normal data: the reference deciles are where scipy says, to sampling error (14 Mi rows).
        assert isinstance(feature, NumericFeature)
        np.testing.assert_allclose(feature.edges[1:-1][4], 0.0, atol=2e-3)
    compared = limited("compare", str(profile), str(path), "--json", str(tmp_path / "big.json"))
    assert compared.returncode == 0, compared.stderr  # the reference against itself: ok
    report = json.loads((tmp_path / "big.json").read_text())
    assert report["rows"] == rows_per_group * groups
    assert all(f["psi"] == 0.0 for f in report["features"].values())
