// driftline/feature_window.hpp -- a Monitor's numeric state: a ring of FeatureBlocks.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "driftline/feature_block.hpp"
#include "driftline/hot.hpp"
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
// Single rows are staged: a one-row observe() only checks its times and
// copies the row into a small buffer; the buffered rows are counted, in
// order, each with its own time and clock reading, when the buffer is full
// and before anything reads or changes the window (ring(), last_seen(),
// to_bytes(), merges, batches, copies). So every reader sees exactly the
// state the unstaged single-row calls would have left, and a server pays
// the ring's cold caches (a few cache lines per feature) once per buffer,
// not once per request. The stage holds at most kStageRows rows and at most
// kStageBytes of values; a window holding 2^63 rows or more counts single
// rows directly (so counting staged rows can never overflow the total).
//
// Thread safety: every member may be called concurrently. Writers (observe,
// merge, assign) are serialized by the stage's lock; batches are counted
// under it. Memory: (length + 1) FeatureBlocks, 8 bytes per feature and the
// stage, at most kStageBytes + 16 * kStageRows bytes.
class FeatureWindow {
 public:
  using Ring = Window<FeatureBlock>;
  static constexpr std::size_t kStageRows = 32;
  static constexpr std::size_t kStageBytes = 64 * 1024;

  FeatureWindow(std::vector<Axis> axes, double width, std::int64_t length);
  FeatureWindow(const FeatureWindow& other);

  std::size_t features() const noexcept { return ring_.prototype().features(); }
  // The ring, with every staged row counted first.
  const Ring& ring() const {
    fold();
    return ring_;
  }
  Ring& ring() {
    fold();
    return ring_;
  }

  // Adds n rows observed at time t, the clock reading now. A feature's
  // last-seen time moves to t when one of the rows has a non-missing value for
  // it, unless the rows were counted as future (they are then not in the ring).
  // One row (n == 1) is staged (see the class comment) after the checks that
  // could throw: a NaN time, a clock reading outside the clock range.
  DRIFTLINE_HOT void observe(const FeatureRows& rows, std::size_t n, double t, double now);

  // observe() of one row given as features() contiguous values: the
  // per-request call, which copies the row into the stage without gathering
  // it through column pointers.
  DRIFTLINE_HOT void observe_row(const double* values, double t, double now);

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

  // Brings the lines a one-row observe() touches into the caches (see
  // prefetch.hpp): the stage's lock and fields, and the next row's place.
  DRIFTLINE_HOT void prefetch_row() const noexcept;

  // Rows staged and not yet counted into the ring (for tests).
  std::size_t staged() const;

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

  // Rows staged by single-row observe() calls, in call order: row i at
  // rows[i * (features + 2)], its values and then its time and clock reading
  // (one row's data lies in adjacent lines).
  struct Stage {
    std::size_t capacity = 1;  // rows; 1 turns staging off (one row is counted at once)
    std::size_t width = 2;     // doubles per row: features + 2 (both set by the constructors, constant after)
    // Written under stage_mutex_; read without it by fold(), so a reader finds
    // an empty stage without waiting for a batch being counted. A thread always
    // sees its own staged rows (program order), so its reads include them.
    std::atomic<std::size_t> size{0};
    std::vector<double> rows;  // allocated on first use, never resized after
    // rows.data() once allocated, for prefetch_row (which holds no lock).
    std::atomic<const double*> published{nullptr};
  };

  // Counts the staged rows (under stage_mutex_); cannot throw: their times
  // were checked and the total has room (see observe).
  void fold() const;
  void fold_locked();
  // Under stage_mutex_: the next staged row's place (the stage counted first
  // when full), or nullptr, having counted the stage, when the ring's total
  // is too close to 2^64 for staged rows (the row is then counted at once).
  double* stage_place();
  // Under stage_mutex_: stores the row's times after its values and makes it staged.
  void commit_staged(double* row, double t, double now);
  // observe_row() without the stage: rows too wide for it, or a total near 2^64.
  DRIFTLINE_COLD void observe_row_at_once(const double* values, double t, double now);
  // observe() without the stage.
  void count(const FeatureRows& rows, std::size_t n, double t, double now);
  void count(const FeatureRows& rows, std::size_t n, const double* t, double now);

  Ring ring_;
  std::vector<double> last_seen_;
  std::uint64_t identity_ = next_identity();
  mutable Mutex mutex_;  // guards last_seen_
  // Guards stage_ and serializes the writers. Lock order: stage_mutex_, then
  // the ring's lock or mutex_; readers take it only to fold. No member holds
  // it while taking another window's stage lock (merge and assign count the
  // other window's stage first).
  mutable Mutex stage_mutex_;
  Stage stage_;
};

}  // namespace driftline
