// driftline/feature_window.hpp -- a Monitor's numeric state: a ring of FeatureBlocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "driftline/feature_block.hpp"
#include "driftline/window.hpp"

namespace driftline {

// FeatureWindow: a Window<FeatureBlock> (event-time slots of per-feature
// counts; see window.hpp for late, future and expired) plus, per feature, the
// latest event time at which it had a non-missing value, over the object's
// whole life (staleness must outlive the ring).
//
// One observe() call adds a whole batch of rows for every feature: the hot
// path of Monitor.observe is exactly one such call.
//
// Thread safety: every member may be called concurrently. Memory: (length + 1)
// FeatureBlocks plus 8 bytes per feature.
class FeatureWindow {
 public:
  using Ring = Window<FeatureBlock>;

  FeatureWindow(std::vector<Axis> axes, double width, std::int64_t length);
  FeatureWindow(const FeatureWindow& other);

  std::size_t features() const noexcept { return ring_.prototype().features(); }
  const Ring& ring() const noexcept { return ring_; }
  Ring& ring() noexcept { return ring_; }

  // Adds n rows observed at time t, the clock reading now. A feature's
  // last-seen time moves to t when one of the rows has a non-missing value for
  // it, unless the rows were counted as future (they are then not in the ring).
  void observe(const FeatureRows& rows, std::size_t n, double t, double now);

  // Adds n rows, row i observed at time t[i] (any order), all at the clock
  // reading now: the same state as n single-row calls observe(row i, 1, t[i],
  // now). All or nothing: a NaN time throws std::invalid_argument before
  // anything is counted. Consecutive rows in one slot are counted as one run,
  // so sorted timestamps cost little more than a single-time batch.
  void observe(const FeatureRows& rows, std::size_t n, const double* t, double now);

  // -inf for a feature never seen with a value.
  std::vector<double> last_seen() const;

  // Merges ring and last-seen times (see Window::merge); throws
  // std::invalid_argument for different features, bins, width or length.
  void merge(const FeatureWindow& other);

  // Binary payload, version 1 (object type 5 in the envelope of serde.hpp):
  //   uint32 features F, uint32 reserved (zero), F last-seen times (f64, not
  //   NaN, +inf refused), then uint32 size S and the S-byte window blob
  //   (object type 3 holding FeatureBlocks with F features).
  std::vector<std::uint8_t> to_bytes() const;
  static FeatureWindow from_bytes(const std::uint8_t* data, std::size_t size);

 private:
  FeatureWindow(Ring ring, std::vector<double> last_seen);

  Ring ring_;
  std::vector<double> last_seen_;
  mutable std::mutex mutex_;  // guards last_seen_
};

}  // namespace driftline
