// driftline/quantile_sketch.hpp -- a mergeable quantile sketch with a relative-error guarantee.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "driftline/bucket_store.hpp"
#include "driftline/exponent_mapping.hpp"
#include "driftline/mutex.hpp"

namespace driftline {

// QuantileSketch: base-2 exponential buckets (OpenTelemetry's definition, see
// exponent_mapping.hpp) in separate stores for positive values and for the
// magnitudes of negative values, a zero count, and exact count, sum, min, max.
// NaN and +-inf are counted in their own counters and never enter buckets,
// sum, min, max or quantiles.
//
// Error guarantee: quantile(q) returns the lower empirical quantile (0-based
// rank floor(q * (count - 1)) of the sorted finite values) to within
// relative_error() of the true value: |estimate - exact| <= e * |exact| with
// e = (base - 1) / (base + 1) at the current scale (normal doubles; the
// extremes q=0 and q=1 are exact). As long as the stream fits in max_buckets
// per sign at the requested scale, e is at most the requested accuracy.
// Memory: at most 2 * 8 * max_buckets bytes of counts. When a value would make a
// store span more than max_buckets, the sketch lowers its scale by as many steps
// as needed (each step squares the base, merging bucket pairs exactly) and the
// guarantee becomes that of the new scale; it never drops a value.
//
// Sum: accumulated in double-double (~106 bits), so it is correct to the last
// bit of a double except under extreme cancellation, and in practice does not
// depend on the order of records and merges.
//
// Thread safety: every member may be called concurrently. The lock is held for
// O(1024 + buckets) work at most: a larger fill counts privately without it and
// folds in (the bindings release the GIL for fills; a caller that must wait for
// the lock gives the GIL up first, see mutex.hpp).
//
// Binary payload, version 1 (object type 2 in the envelope of serde.hpp):
//
//   offset  size  field
//   ------  ----  ---------------------------------------------------------------
//        0     1  scale, int8, -10 .. 14
//        1     1  requested scale, int8, >= scale
//        2     2  reserved, zero
//        4     4  max_buckets, 4 .. 2^20
//        8     8  zero count
//       16     8  NaN count
//       24     8  +inf count
//       32     8  -inf count
//       40     8  min of the finite values (+inf when there are none)
//       48     8  max of the finite values (-inf when there are none)
//       56    16  sum, double-double: hi then lo
//       72     8  positive store: int32 first index, uint32 length L (<= max_buckets)
//       80    8L  its counts; first and last non-zero
//        .     8  negative store (magnitudes): first index, length M
//        .    8M  its counts
class QuantileSketch {
 public:
  static constexpr std::uint32_t min_max_buckets = 4;
  static constexpr std::uint32_t max_max_buckets = 1u << 20;

  // Throws std::invalid_argument for a scale outside ExponentMapping's range or
  // max_buckets outside [min_max_buckets, max_max_buckets].
  QuantileSketch(int scale, std::uint32_t max_buckets);
  static QuantileSketch with_accuracy(double relative_accuracy, std::uint32_t max_buckets);
  QuantileSketch(const QuantileSketch& other);
  QuantileSketch& operator=(const QuantileSketch& other);

  void record(double value);
  void fill(const double* values, std::size_t n);
  // Adds other's values. Never modifies other. Different scales: the finer one
  // is lowered to the coarser (exactly), then further if max_buckets requires.
  void merge(const QuantileSketch& other);
  void reset();

  // NaN for an empty sketch; q must be in [0, 1] (std::invalid_argument).
  double quantile(double q) const;
  std::vector<double> quantiles(const std::vector<double>& qs) const;
  // A closed interval [lo, hi] that holds the finite value of 0-based rank
  // `rank` in sorted order (rank < count(); std::out_of_range otherwise): the
  // bounds of the bucket that rank falls in, widened by a relative 2^-40 (the
  // bounds come from exp2, a few ulps off at most) and clamped to [min, max].
  // Exact order statistics are selected inside such brackets
  // (order_statistics.hpp) instead of sorting the data.
  std::pair<double, double> rank_bracket(std::uint64_t rank) const;

  // Estimated fraction of finite values <= x: exact outside [min, max], and
  // otherwise off only by values sharing x's bucket. NaN when empty or x is NaN.
  double rank(double x) const;

  int scale() const;
  int requested_scale() const noexcept { return requested_scale_; }
  std::uint32_t max_buckets() const noexcept { return max_buckets_; }
  double relative_error() const { return ExponentMapping::relative_error_at(scale()); }

  std::uint64_t count() const;  // finite values
  std::uint64_t zero_count() const;
  std::uint64_t nan_count() const;
  std::uint64_t positive_inf_count() const;
  std::uint64_t negative_inf_count() const;
  double sum() const;
  double min() const;  // NaN when count() == 0
  double max() const;
  std::size_t bucket_count() const;  // occupied span of both stores

  // Buckets as (index, count) per sign, at the current scale.
  std::vector<std::pair<std::int32_t, std::uint64_t>> buckets(bool negative) const;

  bool operator==(const QuantileSketch& other) const;
  bool operator!=(const QuantileSketch& other) const { return !(*this == other); }

  std::vector<std::uint8_t> to_bytes() const;
  static QuantileSketch from_bytes(const std::uint8_t* data, std::size_t size);

 private:
  struct State {
    int scale = 0;
    const ExponentMapping* mapping = nullptr;  // ExponentMapping::at(scale), cached
    BucketStore positive, negative;
    std::uint64_t zero = 0, nan = 0, positive_inf = 0, negative_inf = 0;
    double min, max, sum_hi = 0.0, sum_lo = 0.0;
    std::uint64_t finite_count() const {
      return zero + positive.total() + negative.total();
    }
    // Every value counted; decoding and merging keep it at most 2^64 - 1.
    std::uint64_t all_count() const { return finite_count() + nan + positive_inf + negative_inf; }
  };

  State snapshot() const;
  // Steps of scale reduction needed so that both stores, extended by the given
  // index ranges, fit in max_buckets_.
  int downscale_needed(const State& s, std::int32_t pos_lo, std::int32_t pos_hi,
                       std::int32_t neg_lo, std::int32_t neg_hi) const;
  static void downscale(State& s, int by);
  // Counts values into s (no lock taken: s is the sketch's state under its
  // lock, or a private one). The caller has checked the room for n.
  void fill_into(State& s, const double* values, std::size_t n) const;
  // Adds theirs to s, all or nothing (overflow is checked before any change).
  void fold_into(State& s, State theirs) const;
  // Batches up to this size are counted in place under the lock (a short
  // critical section either way); larger ones privately, then folded.
  static constexpr std::size_t kFillInPlace = 1024;
  static void add_sum(State& s, double hi, double lo);
  static double quantile_of(const State& s, double q);

  int requested_scale_;
  std::uint32_t max_buckets_;
  State state_;
  mutable Mutex mutex_;
};

}  // namespace driftline
