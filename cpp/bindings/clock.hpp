// A Monitor's clock as the bindings read it: time.time read in C++, any other callable called.
#pragma once

#include <pybind11/pybind11.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <string>

#include "driftline/hot.hpp"
#include "driftline/time_range.hpp"
#include "initialized.hpp"

namespace driftline::bindings {

// Throws ValueError unless `now` can be a reading of a clock in seconds.
inline void check_clock_reading(double now) {
  if (std::isnan(now)) throw pybind11::value_error("the clock returned NaN");
  if (!(std::fabs(now) <= max_clock_seconds)) {
    throw pybind11::value_error("the clock returned " + pybind11::repr(pybind11::float_(now)).cast<std::string>() +
                                ", which is not a time in seconds (readings must be finite, within 1e11 s of the "
                                "epoch; a clock in ms, us or ns such as time.time_ns is refused)");
  }
}

#if defined(CLOCK_REALTIME) && defined(CLOCK_MONOTONIC)
#define DRIFTLINE_POSIX_CLOCKS 1
// A POSIX clock's reading in seconds, as std::chrono's clocks give it
// (nanoseconds times 1e-9). Read through libc (the vDSO: no kernel entry) as
// Python's time module reads it: libstdc++'s clocks would add a library's
// code pages to the per-request paths, cold in a server (see hot.hpp).
inline double clock_seconds(clockid_t clock) {
  timespec reading{};
  clock_gettime(clock, &reading);
  return double(std::int64_t(reading.tv_sec) * 1000000000 + std::int64_t(reading.tv_nsec)) * 1e-9;
}
#endif

// A std::chrono clock's reading in seconds (nanoseconds times 1e-9), where
// the POSIX clocks are missing.
template <class Clock>
double chrono_seconds() {
  const auto since = Clock::now().time_since_epoch();
  return double(std::chrono::duration_cast<std::chrono::nanoseconds>(since).count()) * 1e-9;
}

// Seconds since the epoch on the system clock (what time.time reads).
inline double wall_clock_seconds() {
#if defined(DRIFTLINE_POSIX_CLOCKS)
  return clock_seconds(CLOCK_REALTIME);
#else
  return chrono_seconds<std::chrono::system_clock>();
#endif
}

// Reads a clock (a callable returning seconds) the way the Python layer's
// read_clock does: the reading as a float, ValueError for NaN. When the
// callable is time.time itself, C++ reads the same clock (CLOCK_REALTIME,
// wall_clock_seconds) without a Python call: the per-request paths
// (observe of a row, the latency timer) read it on every call.
//
// Thread safety: read() needs the GIL (it may call Python); the object is
// immutable after construction.
class ClockReader {
 public:
  explicit ClockReader(pybind11::object clock) : clock_(std::move(clock)) {
    if (!PyCallable_Check(clock_.ptr())) throw pybind11::type_error("clock must be callable");
    wall_ = clock_.is(pybind11::module_::import("time").attr("time"));
  }

  DRIFTLINE_HOT double read() const {
    if (DRIFTLINE_LIKELY(wall_)) return wall_clock_seconds();
    return call_clock();
  }

  bool wall() const noexcept { return wall_; }
  const pybind11::object& callable() const noexcept { return clock_; }

 private:
  // A clock other than time.time: a Python call (tests' and replays' clocks).
  DRIFTLINE_COLD double call_clock() const {
    const pybind11::object reading = clock_();
    const double now = PyFloat_AsDouble(reading.ptr());  // float() semantics: __float__, __index__
    if (now == -1.0 && PyErr_Occurred()) throw pybind11::error_already_set();
    check_clock_reading(now);
    return now;
  }

  pybind11::object clock_;
  bool wall_ = false;
};

// Seconds on the monotonic clock (time.perf_counter's clock), for durations.
inline double monotonic_seconds() {
#if defined(DRIFTLINE_POSIX_CLOCKS)
  return clock_seconds(CLOCK_MONOTONIC);
#else
  return chrono_seconds<std::chrono::steady_clock>();
#endif
}

template <>
struct requires_init<ClockReader> : std::true_type {};

}  // namespace driftline::bindings
