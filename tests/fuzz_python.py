"""Coverage-guided fuzzing of the decoders written in Python: Profile and Monitor state.

    python tests/fuzz_python.py {profile|monitor} CORPUS [SEEDS...] [libFuzzer flags]

Run by ``.ci/fuzz-python`` (atheris, from the ``fuzz`` extra). The core's own
decoders are fuzzed natively by ``.ci/fuzz``; here atheris instruments
driftline's Python modules (the envelope reader, the Profile and Monitor
codecs, the trackers) so the mutations steer through their branches.

Each input is taken as a blob whose trailing CRC-32C is recomputed first (an
input with a wrong checksum only reaches the checksum test, which the unit
tests cover), then decoded. The property checked on every input: decoding
raises :class:`driftline.DecodeError` (a ValueError), or returns an object that

- re-encodes to bytes that decode again to the same bytes,
- survives ordinary use: a Profile builds a Monitor that reports; a Monitor is reported on, merged with a second decode of the same bytes (only an
  OverflowError, for counts at 2^64, may refuse), and encoded again.

Any other exception escapes, and atheris reports it with the input that caused
it, as it does for a timeout or a process over its RSS limit.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import atheris
import google_crc32c

import driftline as dl

# After the import, not with atheris.instrument_imports(): an editable install
# (and some wheels' loaders) import driftline through a finder atheris does not
# hook. instrument_all() rewrites every Python function loaded so far.
atheris.instrument_all()

GOLDEN = Path(__file__).parent / "golden"


def resealed(data: bytes) -> bytes:
    if len(data) < 4:
        return data
    body = data[:-4]
    return body + google_crc32c.value(body).to_bytes(4, "little")


def check_profile(data: bytes) -> None:
    try:
        profile = dl.Profile.from_bytes(data)
    except dl.DecodeError:
        return
    first = profile.to_bytes()
    again = dl.Profile.from_bytes(first)
    if again.to_bytes() != first or again.fingerprint != profile.fingerprint:
        raise AssertionError("a decoded Profile does not re-encode stably")
    report = dl.Monitor(profile, clock=lambda: 100.0).report()
    if report.status != "insufficient data" or report.rows != 0:
        raise AssertionError(f"a Monitor of a decoded Profile that observed nothing reports {report.status}")


# Monitor state may name its profile by fingerprint: these are the profiles the
# seeds were written with (tests/golden and tests/fuzz_seeds.py).
KNOWN_PROFILES: list[dl.Profile] = []


def decode_monitor(data: bytes) -> dl.Monitor:
    clock = lambda: 100.0  # noqa: E731  (fixed, so every run of an input is the same)
    try:
        return dl.Monitor.from_bytes(data, clock=clock)
    except dl.ProfileMismatchError:
        for profile in KNOWN_PROFILES:
            try:
                return dl.Monitor.from_bytes(data, clock=clock, profile=profile)
            except dl.ProfileMismatchError:
                continue
        raise


def check_monitor(data: bytes) -> None:
    try:
        monitor = decode_monitor(data)
    except dl.DecodeError:
        return
    first = monitor.to_bytes(embed_profile=True)
    again = dl.Monitor.from_bytes(first, clock=lambda: 100.0)
    if again.to_bytes(embed_profile=True) != first:
        raise AssertionError("a decoded Monitor does not re-encode stably")
    report = monitor.report()
    accounted = report.rows + report.before_span + report.expired + report.late + report.future
    if accounted != monitor.rows:
        raise AssertionError(f"a decoded Monitor's report accounts for {accounted} of {monitor.rows} rows")
    try:
        monitor.merge(decode_monitor(data))
    except OverflowError:
        return  # counts at 2^64: refused, and the merge changed nothing
    dl.Monitor.from_bytes(monitor.to_bytes(embed_profile=True))


TARGETS: dict[str, Callable[[bytes], None]] = {"profile": check_profile, "monitor": check_monitor}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(TARGETS)}}} CORPUS [SEEDS...] [libFuzzer flags]")
    check = TARGETS[sys.argv.pop(1)]
    sys.path.insert(0, str(Path(__file__).parent))
    from fuzz_seeds import seed_profile

    KNOWN_PROFILES.extend(dl.Profile.from_bytes(p.read_bytes()) for p in sorted(GOLDEN.glob("profile_v*.bin")))
    KNOWN_PROFILES.append(seed_profile())

    def one_input(data: bytes) -> None:
        check(resealed(data))

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
