"""A Monitor's state in bytes (object type 7): the layouts of every version, and their checks.

Version policy (as for every driftline object, see serde.hpp): this code
writes version 2 and reads versions 1 and 2; a newer version is refused with
a message naming it.

Version 2 payload:

=========  =====================================================================
field      layout
=========  =====================================================================
flags      uint32; bit 0: the profile is embedded; other bits zero
window     f64 seconds; bucket: f64 seconds
profile    32 bytes: SHA-256 of the profile's bytes (``Profile.fingerprint``)
           then, when embedded, uint32 size and the profile blob
features   uint32 size, FeatureWindow blob (its own version 2: axes once,
           counts as varints with zero runs)
latency    uint32 size, Window blob of QuantileSketch slots (version 2 keeps
           the expired latencies; a version 1 window starts keeping them on decode)
trackers   unexpected fields and unseen examples (``Trackers.write``)
=========  =====================================================================

Version 1 payload (read only): window, bucket, the profile blob, the feature
window blob (version 1), the latency window blob, then the trackers.
The policy and the clock are never state.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Optional

from . import _binary, _core
from ._clock import Clock, check_clock
from .policy import Policy
from .profile import Profile
from .sketch import QuantileSketch
from .window import Window

if TYPE_CHECKING:
    from .monitor import Monitor

_EMBEDDED = 1


class ProfileMismatchError(_core.DecodeError):
    """Monitor state cannot be decoded with the profile given (or without one): a DecodeError, so a ValueError."""


def encode(monitor: "Monitor", embed_profile: bool) -> bytes:
    w = _binary.Writer()
    w.u32(_EMBEDDED if embed_profile else 0)
    w.f64(monitor.window)
    w.f64(monitor.bucket)
    w.raw(monitor._fingerprint)
    if embed_profile:
        w.blob(monitor._profile_bytes)
    w.blob(monitor._core.to_bytes())
    w.blob(monitor._latency.to_bytes())
    monitor._trackers.write(w)
    return w.seal(_binary.MONITOR)


def decode(
    cls: type["Monitor"], data: Any, profile: Optional[Profile], policy: Optional[Policy], clock: Optional[Clock]
) -> "Monitor":
    if profile is not None and not isinstance(profile, Profile):
        raise TypeError(f"profile must be a driftline.Profile, got {type(profile).__name__}")
    r = _binary.Reader(_binary.MONITOR, data)
    if r.version == 1:
        window, bucket = r.finite("window"), r.finite("bucket")
        raw = r.blob("profile")
        profile = _agree(_embedded_profile(raw, hashlib.sha256(raw).digest()), profile)
    else:
        flags = r.u32("flags")
        if flags & ~_EMBEDDED:
            raise _core.DecodeError(f"cannot decode: unknown monitor flags {flags:#x}")
        window, bucket = r.finite("window"), r.finite("bucket")
        fingerprint = r.raw(32, "profile fingerprint")
        if flags & _EMBEDDED:
            raw = r.blob("profile")
            if hashlib.sha256(raw).digest() != fingerprint:
                raise _core.DecodeError("cannot decode: the embedded profile does not match its fingerprint")
            profile = _agree(_embedded_profile(raw, fingerprint), profile)
        elif profile is None:
            raise ProfileMismatchError(
                "this Monitor state refers to its profile by fingerprint "
                f"{fingerprint.hex()[:16]}...: pass it as Monitor.from_bytes(data, profile=...) "
                "(or write the state with to_bytes(embed_profile=True))"
            )
        elif profile._encoding()[1] != fingerprint:
            raise _mismatch(profile, fingerprint)
    # The ring's geometry is checked against the decoded ring (whose memory the
    # blob itself bounds) before anything of that geometry is allocated.
    core = _binary.decoded("feature window", _core.FeatureWindow, r.blob("feature window"))
    length = core.length
    if core.width != bucket or abs(length * bucket - window) > 1e-9 * window or not window >= bucket:
        raise _core.DecodeError("cannot decode: window and bucket do not match the feature window")
    edges = core.edges
    if len(edges) != len(profile) or any(e.tobytes() != f.edges.tobytes() for e, f in zip(edges, profile)):
        raise _core.DecodeError("cannot decode: the feature window does not match the profile")
    clock = check_clock(clock)
    latency = _binary.decoded("latency window", Window.from_bytes, r.blob("latency window"), clock)
    if latency._kind is not QuantileSketch or (latency.width, latency.length) != (bucket, length):
        raise _core.DecodeError("cannot decode: the latency window does not match the monitor")
    if not latency._core.keeps_expired:
        latency._core.keep_expired()  # state written before windows kept them: from now on
    monitor = cls.__new__(cls)
    if policy is not None and not isinstance(policy, Policy):
        raise TypeError(f"policy must be a driftline.Policy, got {type(policy).__name__}")
    monitor._setup(profile, window, bucket, length, policy, clock, (core, latency))
    monitor._trackers.read(r, profile, core.total)
    r.end("monitor payload")
    return monitor


def _embedded_profile(raw: bytes, digest: bytes) -> Profile:
    profile: Profile = _binary.decoded("profile", Profile.from_bytes, raw)
    profile._encoded = (profile._version, raw, digest)  # its bytes are these, hashed already
    return profile


def _agree(decoded: Profile, given: Optional[Profile]) -> Profile:
    """The profile to use: ``given``, when passed, must be the embedded one."""
    if given is None:
        return decoded
    digest = decoded._encoding()[1]
    if given._encoding()[1] != digest:
        raise _mismatch(given, digest)
    return given


def _mismatch(given: Profile, fingerprint: bytes) -> ProfileMismatchError:
    return ProfileMismatchError(
        f"the profile given (fingerprint {given.fingerprint[:16]}...) is not the one this Monitor state "
        f"was recorded with ({fingerprint.hex()[:16]}...)"
    )
