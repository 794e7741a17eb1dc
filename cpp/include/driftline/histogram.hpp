// driftline/histogram.hpp -- a thread-safe, mergeable 1-D histogram.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "driftline/axis.hpp"
#include "driftline/mutex.hpp"

namespace driftline {

// Histogram: exact uint64 counts per slot of an Axis (underflow, bins,
// overflow, NaN; see axis.hpp). Every value lands in exactly one slot, so
// total() is the number of values ever filled, recorded or merged in.
//
// Thread safety: all members may be called concurrently. fill() counts into
// private counters and folds them in under the mutex, so concurrent writers
// serialize only for O(bins) per call and totals are exact. (Axes wider than
// 1021 bins fold in per block of 2048 values instead; a snapshot taken during
// such a fill may see part of it.)
// Memory: 8 * (bins + 3) bytes of counts, plus a transient 3 * that per fill
// call for bins <= 1021 (interleaved counters), none for larger axes.
//
// Binary payload, version 1 (inside the envelope of serde.hpp, object type 1):
//
//   offset     size      field
//   ---------  --------  -------------------------------------------------------
//          0         1  axis kind: 1 uniform, 2 variable edges
//          1         3  reserved, zero
//          4         4  bins B, 1 .. 2^24
//   uniform:
//          8         8  lo (finite)
//         16         8  hi (finite, > lo); edges are recomputed as numpy.linspace
//   variable:
//          8   8(B+1)  edges, finite and strictly increasing
//   then
//          .   8(B+3)  slot counts: underflow, bin 0 .. bin B-1, overflow, NaN
//
// Decoding rebuilds the axis with the same validation as the constructors and
// rejects a blob whose counts add up past 2^64 - 1.
class Histogram {
 public:
  explicit Histogram(Axis axis);
  Histogram(const Histogram& other);
  Histogram& operator=(const Histogram& other);

  const Axis& axis() const noexcept { return axis_; }

  // Counts n values (NaN and infinities included). Throws std::overflow_error,
  // counting nothing, if the total would pass 2^64 - 1: no count ever wraps.
  void fill(const double* values, std::size_t n);
  void record(double value);

  // Adds other's counts. Throws axis_mismatch naming both axes, and
  // std::overflow_error (leaving this unchanged) if a count would exceed 2^64 - 1.
  void merge(const Histogram& other);
  void reset();

  // A consistent snapshot of all slots (Axis slot layout).
  std::vector<std::uint64_t> slot_counts() const;
  std::uint64_t total() const;

  bool operator==(const Histogram& other) const;
  bool operator!=(const Histogram& other) const { return !(*this == other); }

  std::vector<std::uint8_t> to_bytes() const;
  // Throws decode_error; see the payload layout above.
  static Histogram from_bytes(const std::uint8_t* data, std::size_t size);

 private:
  Histogram(Axis axis, std::vector<std::uint64_t> counts);

  // Throws std::overflow_error unless total_ + n fits; call under the lock.
  void reserve(std::uint64_t n) const;

  Axis axis_;
  std::vector<std::uint64_t> counts_;  // axis_.slots() entries
  std::uint64_t total_ = 0;            // invariant: the sum of counts_, so no slot can wrap either
  mutable Mutex mutex_;
};

// Adds the slot of each value in x[0..n) into counts[0..axis.slots()) using the
// active SIMD kernels. Not synchronized: counts must be private to the caller.
void count_slots(const Axis& axis, const double* x, std::size_t n, std::uint64_t* counts);

}  // namespace driftline
