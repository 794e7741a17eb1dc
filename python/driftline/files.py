"""Parquet and CSV files as a :class:`driftline.chunked.Source`, read with pyarrow in record batches.

``pip install "driftline[parquet]"`` (pyarrow, and tqdm for the progress bar).
Memory stays flat whatever the file size: one record batch (``batch_rows``
rows) is read and converted at a time (see :class:`FileSource`).

How Arrow columns become driftline columns (so a file profiles as the same
data in memory would): integers and floats become float64 (nulls become NaN,
i.e. missing); booleans, strings and binary stay values (nulls become None,
missing) and are categorical; dictionary (pandas categorical) columns are
decoded to their values; timestamps and dates become numpy datetimes (as in a
DataFrame: categorical by their text); other types (lists, structs) become
Python objects, categorized by their text.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, TypeVar

import numpy as np

__all__ = ["FileSource", "FileError", "read_columns"]

T = TypeVar("T")

BATCH_BYTES = 32 << 20
_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
_CSV_SUFFIXES = (".csv", ".tsv", ".csv.gz", ".csv.bz2", ".tsv.gz")


class FileError(ValueError):
    """A data file that is missing, unreadable, empty or lacks a requested column; the message names the file."""


def _pyarrow() -> Any:
    try:
        import pyarrow  # type: ignore[import-untyped, unused-ignore]
        import pyarrow.csv  # type: ignore[import-untyped, unused-ignore]  # noqa: F401
        import pyarrow.parquet  # type: ignore[import-untyped, unused-ignore]  # noqa: F401
    except ImportError as e:
        raise ImportError('reading Parquet and CSV files needs pyarrow: pip install "driftline[parquet]"') from e
    return pyarrow


def file_format(path: str) -> str:
    """"parquet" or "csv", from a folder (Parquet files), the suffix, or the Parquet magic bytes."""
    if os.path.isdir(path):
        return "parquet"
    lower = path.lower()
    if lower.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    if lower.endswith(_CSV_SUFFIXES):
        return "csv"
    with open(path, "rb") as f:
        if f.read(4) == b"PAR1":
            return "parquet"
    raise FileError(f"{path}: cannot tell the format from the name; pass --format parquet or --format csv")


class FileSource:
    """A :class:`~driftline.chunked.Source` over a Parquet file, a folder of Parquet files, or a CSV file.

    Opening checks everything a pass would fail on (the path exists, pyarrow
    reads its schema, the ``columns`` exist in every file) and raises
    :class:`FileError` naming the problem. ``progress`` (a callable wrapping
    each pass's batches, given the pass's name and the row total when known)
    draws a progress bar.

    Memory: Parquet is read record batch by record batch without buffering a
    row group (``pre_buffer=False``), CSV by 1 MiB blocks of the streaming
    reader; a folder's files one after another, in name order.
    """

    def __init__(
        self,
        path: "str | os.PathLike[str]",
        columns: Optional[Sequence[str]] = None,
        *,
        format: Optional[str] = None,
        batch_rows: Optional[int] = None,
        progress: Optional[Callable[[Iterable[Any], str, Optional[int]], Iterable[Any]]] = None,
    ) -> None:
        _pyarrow()
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise FileError(f"{self.path}: no such file or directory")
        if batch_rows is not None and batch_rows < 1:
            raise ValueError(f"batch_rows must be positive, got {batch_rows}")
        self.format = format if format is not None else file_format(self.path)
        if self.format not in ("parquet", "csv"):
            raise ValueError(f"format must be 'parquet' or 'csv', got {self.format!r}")
        self.files = _data_files(self.path, self.format)
        self._progress = progress
        self.rows: Optional[int] = 0 if self.format == "parquet" else None  # Parquet: from the footers
        names: Optional[list[str]] = None
        for file in self.files:
            file_names, rows = self._inspect(file)
            if self.rows is not None:
                self.rows += rows
            if columns is not None:
                missing = [c for c in columns if c not in file_names]
                if missing:
                    raise FileError(f"{file}: no column named {', '.join(map(repr, missing))} (columns: {file_names})")
            elif names is None:
                names = file_names
            elif file_names != names:
                raise FileError(f"{file}: its columns {file_names} differ from the first file's {names}")
        self.names = list(columns) if columns is not None else (names or [])
        # Default: batches of about BATCH_BYTES as float64 columns (bigger batches, fewer numpy calls per row).
        default = BATCH_BYTES // (8 * max(len(self.names), 1))
        self._batch_rows = int(batch_rows) if batch_rows is not None else min(max(default, 4096), 1 << 20)

    def _inspect(self, file: str) -> tuple[list[str], int]:
        """A file's column names and (Parquet) rows, or FileError."""
        pa = _pyarrow()
        if os.path.getsize(file) == 0:
            raise FileError(f"{file}: the file is empty")
        try:
            if self.format == "parquet":
                meta = pa.parquet.ParquetFile(file).metadata
                return list(meta.schema.to_arrow_schema().names), int(meta.num_rows)
            with self._open_csv(file) as reader:
                return list(reader.schema.names), 0
        except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as e:
            raise FileError(f"{file}: cannot read it as {self.format}: {_first_line(e)}") from None

    def _open_csv(self, file: str) -> Any:
        pa = _pyarrow()
        return pa.csv.open_csv(file, read_options=pa.csv.ReadOptions(block_size=1 << 20))

    def _file_batches(self, file: str) -> Iterator[Any]:
        pa = _pyarrow()
        if self.format == "parquet":
            reader = pa.parquet.ParquetFile(file, pre_buffer=False, buffer_size=1 << 20)
            yield from reader.iter_batches(batch_size=self._batch_rows, columns=self.names)
            return
        with self._open_csv(file) as stream:
            for batch in stream:
                # The reader's blocks are ~1 MiB of text; batch_rows slices them further.
                for start in range(0, batch.num_rows, self._batch_rows):
                    yield batch.slice(start, self._batch_rows).select(self.names)

    def batches(self) -> Iterator[dict[str, Any]]:
        """The data's record batches as mappings of column name -> numpy column, one at a time."""
        pa = _pyarrow()
        for file in self.files:
            try:
                for batch in self._file_batches(file):
                    if batch.num_rows:
                        yield read_columns(batch)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as e:
                raise FileError(f"{file}: cannot read it: {_first_line(e)}") from None

    def run(self, task: Callable[[Any], T], combine: Callable[[T, T], T], what: str) -> Optional[T]:
        from .chunked import Chunks  # the same fold over the batches, with this source's row total for the bar

        progress = self._progress
        wrap = None if progress is None else (lambda chunks, name: progress(chunks, name, self.rows))
        return Chunks(self.batches, wrap).run(task, combine, what)


def _data_files(path: str, format: str) -> list[str]:
    """The file itself, or a folder's files of that format (by suffix; hidden and underscore files skipped), in name order."""
    if not os.path.isdir(path):
        return [path]
    suffixes = _PARQUET_SUFFIXES if format == "parquet" else _CSV_SUFFIXES
    found = []
    for folder, subfolders, names in os.walk(path):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith((".", "_")))
        found += [os.path.join(folder, n) for n in sorted(names) if n.lower().endswith(suffixes) and not n.startswith((".", "_"))]
    if not found:
        raise FileError(f"{path}: the folder holds no {format} files ({', '.join(suffixes)})")
    return found


def read_columns(batch: Any) -> dict[str, Any]:
    """An Arrow record batch as a mapping of column name -> 1-D numpy column (module docs for the types)."""
    pa = _pyarrow()
    out: dict[str, Any] = {}
    for name, array in zip(batch.schema.names, batch.columns):
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        t = array.type
        if pa.types.is_integer(t) or pa.types.is_floating(t):
            column = array.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        elif pa.types.is_boolean(t) and array.null_count == 0:
            column = array.to_numpy(zero_copy_only=False)
        elif pa.types.is_timestamp(t) or pa.types.is_date(t):
            column = array.to_numpy(zero_copy_only=False)
        elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_boolean(t):
            column = array.to_numpy(zero_copy_only=False).astype(object, copy=False)
        else:
            column = np.empty(len(array), dtype=object)
            column[:] = array.to_pylist()
        out[str(name)] = column
    return out


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
