"""The host file: fixed slots of Monitor state that the worker processes of one host share.

Layout (version 1, little-endian; every offset a multiple of the page size):

==========  =======================================================================
offset      content
==========  =======================================================================
0           header: magic ``DLHOSTv\\0``, format version (u32), slot count (u32),
            window and bucket (f64), profile fingerprint (32 bytes), profile
            length (u64), table offset (u64), then the CRC-32 of those bytes
4096        the profile's bytes (what readers without the profile decode with)
table       one 64-byte entry per slot: publish count (u64), two extents (offset,
            capacity: u64 each), the active extent (u32: 0 none, 1 or 2), the
            active blob's length (u32)
extents     two per slot (reserved when the file is made, larger ones appended
            when a state outgrows them), each holding a Monitor blob
            (``Monitor.to_bytes()``, its own CRC-32C inside)
==========  =======================================================================

Invariants that make the file safe to share:

- Every slot has one writer: the process that holds the slot's *owner lock*
  (a POSIX record lock, so the kernel drops it when that process dies, even
  by SIGKILL). Nobody else writes a slot's entry or extents.
- A publish writes the blob into the inactive extent, then rewrites the entry
  (one 64-byte write inside one page) to point at it, holding the slot's
  *data lock* exclusively; readers hold data locks shared. A reader therefore
  sees a slot's previous blob or its new one, never a mix; a writer killed
  mid-write leaves the previous blob active.
- The file is made with two extents for every slot, so its size is fixed
  from the start (sparse: pages are used once a slot publishes). Extents
  are never freed or moved: a slot whose blob outgrows its extent gets a
  new one of twice the blob's size at the end of the file (the old one is
  left unused). The file grows only when one slot's state grows, never
  with the number of processes that used the slots.
- Locks live at offsets far past the data (record locks need not cover
  bytes that exist), so they never interact with reads and writes.

POSIX record locks belong to a process, and closing *any* descriptor of the
file drops all of that process's locks on it; so each process keeps one
descriptor per file it writes (:func:`shared_file`) and tracks which slots it owns
itself (the kernel would let a process "lock" a slot it already holds).
"""

from __future__ import annotations

import contextlib
import errno
import os

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no POSIX record locks, so no host files (shared_file raises)
    fcntl = None  # type: ignore[assignment]
import struct
import threading
import zlib
from dataclasses import dataclass, field
from typing import Iterator, Optional

from . import _core

PAGE = 4096
MAGIC = b"DLHOSTv\0"
VERSION = 1

_HEADER = struct.Struct("<8sIIdd32sQQ")
_HEADER_CRC = struct.Struct("<I")
_ENTRY = struct.Struct("<QQQQQII")
ENTRY_SIZE = 64

# Lock offsets: far past any data, one byte per lock.
_LOCK_BASE = 1 << 50
_LOCK_CREATE = _LOCK_BASE
_LOCK_OWNER = _LOCK_BASE + (1 << 20)
_LOCK_DATA = _LOCK_BASE + (1 << 21)
MAX_SLOTS = 1 << 16


class HostFileError(_core.DecodeError):
    """The file is not a driftline host file, or is damaged: a DecodeError, so a ValueError."""


class HostFileMismatchError(ValueError):
    """The host file was created for another profile, window or bucket."""


def _pad(n: int) -> int:
    return -(-n // PAGE) * PAGE


@dataclass(frozen=True)
class Header:
    slots: int
    window: float
    bucket: float
    fingerprint: bytes
    profile_length: int
    table_offset: int

    def encode(self) -> bytes:
        body = _HEADER.pack(
            MAGIC, VERSION, self.slots, self.window, self.bucket, self.fingerprint, self.profile_length, self.table_offset
        )
        return body + _HEADER_CRC.pack(zlib.crc32(body))

    @property
    def end_of_table(self) -> int:
        return self.table_offset + _pad(self.slots * ENTRY_SIZE)


@dataclass
class Entry:
    """One slot's table entry: where its two extents are and which holds the current blob."""

    publishes: int = 0
    extents: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))
    active: int = 0  # 0: no blob yet; 1 or 2: extents[active - 1]
    length: int = 0

    def encode(self) -> bytes:
        (a, ca), (b, cb) = self.extents
        return _ENTRY.pack(self.publishes, a, ca, b, cb, self.active, self.length).ljust(ENTRY_SIZE, b"\0")


@dataclass
class SharedFile:
    """One open host file of this process: its descriptor, header and the slots this process owns."""

    path: str
    fd: int
    header: Header
    profile_bytes: bytes
    owned: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)  # record locks do not exclude this process's threads

    # -- locks ------------------------------------------------------------------------
    def _lock(self, kind: int, start: int, length: int = 1) -> None:
        fcntl.lockf(self.fd, kind, length, start, os.SEEK_SET)

    def _try_lock(self, start: int) -> bool:
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, start, os.SEEK_SET)
        except OSError as e:
            if e.errno in (errno.EACCES, errno.EAGAIN):
                return False
            raise
        return True

    # -- the table ----------------------------------------------------------------------
    def _read_entry(self, slot: int, size: int) -> Entry:
        raw = os.pread(self.fd, _ENTRY.size, self.header.table_offset + slot * ENTRY_SIZE)
        if len(raw) != _ENTRY.size:
            raise HostFileError(f"{self.path}: truncated slot table (slot {slot})")
        publishes, a, ca, b, cb, active, length = _ENTRY.unpack(raw)
        entry = Entry(publishes, ((a, ca), (b, cb)), active, length)
        if active not in (0, 1, 2):
            raise HostFileError(f"{self.path}: slot {slot} names extent {active}")
        for offset, capacity in entry.extents:
            if capacity and (offset < self.header.end_of_table or offset % PAGE or offset + capacity > size):
                raise HostFileError(f"{self.path}: slot {slot} has an extent outside the file")
        if active and (length > entry.extents[active - 1][1] or not entry.extents[active - 1][1]):
            raise HostFileError(f"{self.path}: slot {slot} holds more bytes than its extent")
        return entry

    def _read_blob(self, slot: int, entry: Entry) -> Optional[bytes]:
        if not entry.active:
            return None
        offset = entry.extents[entry.active - 1][0]
        blob = os.pread(self.fd, entry.length, offset)
        if len(blob) != entry.length:
            raise HostFileError(f"{self.path}: slot {slot}'s state is cut short")
        return blob

    # -- owning a slot ------------------------------------------------------------------
    def claim(self) -> Optional[int]:
        """Takes a slot no live process owns, preferring one with state to adopt; None when all are owned."""
        with self.lock:
            self._lock(fcntl.LOCK_EX, _LOCK_CREATE)
            try:
                size = os.fstat(self.fd).st_size
                free: Optional[int] = None
                for slot in range(self.header.slots):
                    if slot in self.owned or not self._try_lock(_LOCK_OWNER + slot):
                        continue
                    if self._read_entry(slot, size).active:
                        if free is not None:
                            self._lock(fcntl.LOCK_UN, _LOCK_OWNER + free)
                        self.owned.add(slot)
                        return slot
                    if free is None:
                        free = slot
                    else:
                        self._lock(fcntl.LOCK_UN, _LOCK_OWNER + slot)
                if free is not None:
                    self.owned.add(free)
                return free
            finally:
                self._lock(fcntl.LOCK_UN, _LOCK_CREATE)

    def release(self, slot: int) -> None:
        """Gives the slot up (its state stays, for the next owner to adopt)."""
        with self.lock:
            if slot in self.owned:
                self.owned.discard(slot)
                self._lock(fcntl.LOCK_UN, _LOCK_OWNER + slot)

    def read_own(self, slot: int) -> Optional[bytes]:
        """The state an owned slot holds (left by its previous owner), or None."""
        with self.lock:
            self._lock(fcntl.LOCK_SH, _LOCK_DATA + slot)
            try:
                return self._read_blob(slot, self._read_entry(slot, os.fstat(self.fd).st_size))
            finally:
                self._lock(fcntl.LOCK_UN, _LOCK_DATA + slot)

    def write(self, slot: int, blob: bytes, minimum_extent: int) -> None:
        """Publishes ``blob`` as the owned slot's state: readers see the old blob or this one, whole."""
        if slot not in self.owned:
            raise RuntimeError(f"slot {slot} of {self.path} is not owned by this process")
        with self.lock:
            self._lock(fcntl.LOCK_EX, _LOCK_DATA + slot)
            try:
                entry = self._read_entry(slot, os.fstat(self.fd).st_size)
                target = 2 if entry.active == 1 else 1
                extents = list(entry.extents)
                if extents[target - 1][1] < len(blob):
                    capacity = _pad(max(2 * len(blob), minimum_extent))
                    extents[target - 1] = (self._allocate(capacity), capacity)
                os.pwrite(self.fd, blob, extents[target - 1][0])
                updated = Entry(entry.publishes + 1, (extents[0], extents[1]), target, len(blob))
                os.pwrite(self.fd, updated.encode(), self.header.table_offset + slot * ENTRY_SIZE)
            finally:
                self._lock(fcntl.LOCK_UN, _LOCK_DATA + slot)

    def _allocate(self, size: int) -> int:
        """A new extent of ``size`` bytes (rounded up to pages) at the end of the file."""
        self._lock(fcntl.LOCK_EX, _LOCK_CREATE)
        try:
            end = _pad(os.fstat(self.fd).st_size)
            os.ftruncate(self.fd, end + size)
            return end
        finally:
            self._lock(fcntl.LOCK_UN, _LOCK_CREATE)

    # -- reading every slot -----------------------------------------------------------
    def read_all(self) -> list[tuple[int, bytes]]:
        """Every slot's current blob, all read at one instant: no publish lands in between."""
        with self.lock:
            self._lock(fcntl.LOCK_SH, _LOCK_DATA, self.header.slots)
            try:
                size = os.fstat(self.fd).st_size
                blobs = []
                for slot in range(self.header.slots):
                    blob = self._read_blob(slot, self._read_entry(slot, size))
                    if blob is not None:
                        blobs.append((slot, blob))
                return blobs
            finally:
                self._lock(fcntl.LOCK_UN, _LOCK_DATA, self.header.slots)

    def storage(self) -> int:
        """The file's size in bytes."""
        return os.fstat(self.fd).st_size


# -- opening --------------------------------------------------------------------------------
_open_files: dict[tuple[int, int], SharedFile] = {}
_registry_lock = threading.Lock()


def _read_header(path: str, fd: int) -> tuple[Header, bytes]:
    raw = os.pread(fd, _HEADER.size + _HEADER_CRC.size, 0)
    if len(raw) < _HEADER.size + _HEADER_CRC.size:
        raise HostFileError(f"{path}: too short for a driftline host file")
    body = raw[: _HEADER.size]
    magic, version, slots, window, bucket, fingerprint, profile_length, table_offset = _HEADER.unpack(body)
    if magic != MAGIC:
        raise HostFileError(f"{path}: not a driftline host file")
    if version > VERSION:
        raise HostFileError(f"{path}: host file format version {version} is newer than this driftline's ({VERSION})")
    if version < 1 or _HEADER_CRC.unpack(raw[_HEADER.size :])[0] != zlib.crc32(body):
        raise HostFileError(f"{path}: damaged host file header")
    header = Header(slots, window, bucket, fingerprint, profile_length, table_offset)
    if not (0 < bucket <= window < float("inf")):
        raise HostFileError(f"{path}: damaged host file header (window {window!r}, bucket {bucket!r})")
    size = os.fstat(fd).st_size
    if not (0 < slots <= MAX_SLOTS) or table_offset != _pad(PAGE + profile_length) or header.end_of_table > size:
        raise HostFileError(f"{path}: damaged host file header")
    profile = os.pread(fd, profile_length, PAGE)
    if len(profile) != profile_length:
        raise HostFileError(f"{path}: the profile is cut short")
    return header, profile


def _create(
    fd: int, slots: int, window: float, bucket: float, fingerprint: bytes, profile: bytes, extent: int
) -> None:
    """Writes a new file: header, profile, and a table giving every slot two extents of ``extent`` bytes.

    The extents are reserved up front, so the file's size is fixed from the
    start (its pages are only used once a slot publishes: the file is sparse).
    """
    header = Header(slots, window, bucket, fingerprint, len(profile), _pad(PAGE + len(profile)))
    extent = _pad(extent)
    os.pwrite(fd, profile, PAGE)
    table = b"".join(
        Entry(0, ((header.end_of_table + 2 * i * extent, extent), (header.end_of_table + (2 * i + 1) * extent, extent))).encode()
        for i in range(slots)
    )
    os.pwrite(fd, table, header.table_offset)
    os.ftruncate(fd, header.end_of_table + 2 * slots * extent)
    os.pwrite(fd, header.encode(), 0)  # last: a file without its header is "not a host file", never half of one


def _open_here(path: str) -> Optional[SharedFile]:
    """This process's SharedFile of ``path`` (by device and inode), or None. Call under _registry_lock."""
    if fcntl is None:  # pragma: no cover - Windows
        raise OSError("host files need POSIX record locks (fcntl), which this platform lacks")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return _open_files.get((st.st_dev, st.st_ino))


@contextlib.contextmanager
def reading(path: str) -> Iterator[SharedFile]:
    """The file for one read: this process's open one if it has it, else a descriptor closed afterwards."""
    path = os.fspath(path)
    with _registry_lock:
        known = _open_here(path)
    if known is None and not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or directory")
    if known is not None:
        yield known
        return
    # Closing this descriptor is safe: the process holds no record locks on a file it has not opened.
    fd = os.open(path, os.O_RDONLY)
    try:
        header, profile = _read_header(path, fd)
        yield SharedFile(path, fd, header, profile)
    finally:
        os.close(fd)


def shared_file(
    path: str,
    *,
    create: tuple[int, float, float, bytes, bytes, int],
    mode: int = 0o600,
) -> SharedFile:
    """This process's one SharedFile for ``path``, made if absent or empty.

    ``create`` = (slots, window, bucket, fingerprint, profile, extent bytes).

    The descriptor stays open for the life of the process (see the module's
    documentation): one per host file, however many HostMonitors use it.
    """
    path = os.fspath(path)
    with _registry_lock:
        # Never close a descriptor of a file this process already has open: closing
        # any of them would drop every record lock the process holds on the file.
        known = _open_here(path)
        if known is not None:
            return known
        fd = os.open(path, os.O_RDWR | os.O_CREAT, mode)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX, 1, _LOCK_CREATE, os.SEEK_SET)
            try:
                if os.fstat(fd).st_size < PAGE:
                    _create(fd, *create)
                header, profile = _read_header(path, fd)
            finally:
                fcntl.lockf(fd, fcntl.LOCK_UN, 1, _LOCK_CREATE, os.SEEK_SET)
        except BaseException:
            os.close(fd)  # this process held no locks on a file it had not opened before
            raise
        st = os.fstat(fd)
        opened = _open_files[(st.st_dev, st.st_ino)] = SharedFile(path, fd, header, profile)
        return opened


def forget_owned_after_fork() -> None:
    """In a forked child: the parent's record locks were not inherited, so it owns no slot."""
    global _registry_lock
    _registry_lock = threading.Lock()
    for opened in _open_files.values():
        opened.owned = set()
        opened.lock = threading.Lock()
