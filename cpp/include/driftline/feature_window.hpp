// driftline/feature_window.hpp -- a Monitor's numeric state: a ring of FeatureBlocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "driftline/feature_block.hpp"
#include "driftline/mutex.hpp"
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

  // A number no other FeatureWindow of this process has (copies and decoded
  // windows get their own): lets a reader cache what it derived from this one.
  std::uint64_t identity() const noexcept { return identity_; }

  // Replaces the contents with other's, keeping this window's identity, so a
  // reader's cache of completed buckets (keyed by identity, slot id and rows)
  // stays in use. Precondition, the caller's: other grew from this window's
  // contents (every slot's rows the same or more, and the same rows meaning
  // the same counts), as successive merges of the same growing states do.
  // Throws std::invalid_argument for different features, width or length.
  void assign(const FeatureWindow& other);

  // -inf for a feature never seen with a value.
  std::vector<double> last_seen() const;

  // Merges ring and last-seen times (see Window::merge); throws
  // std::invalid_argument for different features, bins, width or length.
  void merge(const FeatureWindow& other);

  // Binary payload (object type 5 in the envelope of serde.hpp). Both
  // versions start with uint32 features F, uint32 reserved (zero) and F
  // last-seen times (f64, not NaN, +inf refused).
  //   Version 1 (read only): then uint32 size S and the S-byte window blob
  //     (object type 3 holding FeatureBlocks with F features), which repeats
  //     every axis in every slot.
  //   Version 2 (written): then the axes once (FeatureBlock::write_axes), the
  //     ring's geometry and counters (Window::write_compact) and its L + 1
  //     slots as FeatureBlock::write_compact blocks: an empty slot is one byte,
  //     a run of zero counts two. Decoding refuses rings whose memory exceeds
  //     check_decode_memory's budget for the blob's size.
  std::vector<std::uint8_t> to_bytes() const;
  static FeatureWindow from_bytes(const std::uint8_t* data, std::size_t size);

 private:
  FeatureWindow(Ring ring, std::vector<double> last_seen);

  static std::uint64_t next_identity() noexcept;

  Ring ring_;
  std::vector<double> last_seen_;
  std::uint64_t identity_ = next_identity();
  mutable Mutex mutex_;  // guards last_seen_
};

}  // namespace driftline
