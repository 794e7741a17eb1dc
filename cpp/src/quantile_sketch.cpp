#include "driftline/quantile_sketch.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "driftline/errors.hpp"
#include "driftline/kernels.hpp"
#include "driftline/serde.hpp"

namespace driftline {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

void check_max_buckets(std::int64_t max_buckets) {
  if (max_buckets < QuantileSketch::min_max_buckets ||
      max_buckets > QuantileSketch::max_max_buckets) {
    throw std::invalid_argument("max_buckets must be between " +
                                std::to_string(QuantileSketch::min_max_buckets) + " and " +
                                std::to_string(QuantileSketch::max_max_buckets) + ", got " +
                                std::to_string(max_buckets));
  }
}

// Smallest d >= 0 with (hi >> d) - (lo >> d) + 1 <= limit.
int steps_to_fit(std::int32_t lo, std::int32_t hi, std::uint32_t limit) {
  if (lo > hi) return 0;
  int d = 0;
  while (std::int64_t(hi >> d) - std::int64_t(lo >> d) + 1 > std::int64_t(limit)) ++d;
  return d;
}

void add_checked(std::uint64_t& into, std::uint64_t add) {
  if (into + add < into) throw std::overflow_error("sketch count would exceed 2^64 - 1");
  into += add;
}

// Throws before anything is counted if `count` more values would take the
// sketch's total past 2^64 - 1 (no count ever wraps).
void check_room(std::uint64_t total, std::uint64_t count) {
  if (total + count < total) throw std::overflow_error("sketch count would exceed 2^64 - 1");
}

}  // namespace

QuantileSketch::QuantileSketch(int scale, std::uint32_t max_buckets)
    : requested_scale_(scale), max_buckets_(max_buckets) {
  ExponentMapping::at(scale);  // validates the scale
  check_max_buckets(max_buckets);
  state_.scale = scale;
  state_.mapping = &ExponentMapping::at(scale);
  state_.min = kInf;
  state_.max = -kInf;
}

QuantileSketch QuantileSketch::with_accuracy(double relative_accuracy, std::uint32_t max_buckets) {
  return QuantileSketch(ExponentMapping::scale_for_accuracy(relative_accuracy), max_buckets);
}

QuantileSketch::QuantileSketch(const QuantileSketch& other)
    : requested_scale_(other.requested_scale_),
      max_buckets_(other.max_buckets_),
      state_(other.snapshot()) {}

QuantileSketch& QuantileSketch::operator=(const QuantileSketch& other) {
  if (this == &other) return *this;
  State copy = other.snapshot();
  Lock lock(mutex_);
  requested_scale_ = other.requested_scale_;
  max_buckets_ = other.max_buckets_;
  state_ = std::move(copy);
  return *this;
}

QuantileSketch::State QuantileSketch::snapshot() const {
  Lock lock(mutex_);
  return state_;
}

int QuantileSketch::downscale_needed(const State& s, std::int32_t pos_lo, std::int32_t pos_hi,
                                     std::int32_t neg_lo, std::int32_t neg_hi) const {
  auto span = [](const BucketStore& store, std::int32_t lo, std::int32_t hi) {
    if (lo > hi) return std::make_pair(store.lo(), store.hi());
    if (store.empty()) return std::make_pair(lo, hi);
    return std::make_pair(std::min(lo, store.lo()), std::max(hi, store.hi()));
  };
  const auto p = span(s.positive, pos_lo, pos_hi);
  const auto n = span(s.negative, neg_lo, neg_hi);
  return std::max(steps_to_fit(p.first, p.second, max_buckets_),
                  steps_to_fit(n.first, n.second, max_buckets_));
}

void QuantileSketch::downscale(State& s, int by) {
  if (by <= 0) return;
  s.positive.downscale(by);
  s.negative.downscale(by);
  s.scale -= by;
  s.mapping = &ExponentMapping::at(s.scale);
}

void QuantileSketch::add_sum(State& s, double hi, double lo) {
  const double t = s.sum_hi + hi;
  const double bp = t - s.sum_hi;
  const double err = (s.sum_hi - (t - bp)) + (hi - bp);
  const double low = s.sum_lo + lo + err;
  // Renormalize so (hi, lo) stays a canonical double-double.
  s.sum_hi = t + low;
  s.sum_lo = low - (s.sum_hi - t);
  if (!std::isfinite(s.sum_hi)) s.sum_lo = 0.0;
}

void QuantileSketch::record(double value) {
  Lock lock(mutex_);
  State& s = state_;
  check_room(s.all_count(), 1);
  if (std::isnan(value)) {
    ++s.nan;
    return;
  }
  if (std::isinf(value)) {
    ++(value > 0 ? s.positive_inf : s.negative_inf);
    return;
  }
  s.min = std::min(s.min, value);
  s.max = std::max(s.max, value);
  add_sum(s, value, 0.0);
  if (value == 0.0) {
    ++s.zero;
    return;
  }
  const bool negative = value < 0.0;
  std::int32_t index = s.mapping->index(std::fabs(value));
  BucketStore& occupied = negative ? s.negative : s.positive;
  if (index >= occupied.lo() && index <= occupied.hi()) {  // the common case: no growth
    occupied.add(index, 1);
    return;
  }
  const int by = negative ? downscale_needed(s, 1, 0, index, index)
                          : downscale_needed(s, index, index, 1, 0);
  if (by > 0) {
    downscale(s, by);
    index >>= by;
  }
  BucketStore& store = negative ? s.negative : s.positive;
  store.cover(index, index, max_buckets_);
  store.add(index, 1);
}

void QuantileSketch::fill(const double* values, std::size_t n) {
  if (n == 0) return;
  if (n <= kFillInPlace) {
    Lock lock(mutex_);
    check_room(state_.all_count(), n);
    fill_into(state_, values, n);
    return;
  }
  // A batch is counted into a private state, without the lock, at the scale
  // the sketch has now, then folded in under the lock (O(buckets)): the lock
  // is never held for the batch. The fold gives the bucket counts, min, max
  // and scale a sequential fill would (the scale is the finest that holds the
  // union either way); only the double-double sum may differ in its last bits.
  State part;
  {
    Lock lock(mutex_);
    check_room(state_.all_count(), n);
    part.scale = state_.scale;
  }
  part.mapping = &ExponentMapping::at(part.scale);
  part.min = kInf;
  part.max = -kInf;
  fill_into(part, values, n);
  Lock lock(mutex_);
  check_room(state_.all_count(), n);  // again: other calls may have counted meanwhile
  fold_into(state_, std::move(part));
}

void QuantileSketch::fill_into(State& s, const double* values, std::size_t n) const {
  std::int32_t index[kSketchBlock];
  std::uint8_t cls[kSketchBlock];
  const Kernels& k = active_kernels();
  for (std::size_t start = 0; start < n; start += kSketchBlock) {
    const std::size_t m = std::min(kSketchBlock, n - start);
    const ExponentMapping& mapping = ExponentMapping::at(s.scale);
    // Indices come out relative to the positive store's base (its offsets) as
    // long as the store needs no growth; `origin` turns them back into indices.
    std::int32_t origin = s.positive.base();
    const SketchIndexParams params{s.scale, mapping.first_boundary(), mapping.thresholds(),
                                   mapping.log2_coefficients(), mapping.log2_tolerance(), origin};
    SketchBlockSummary b;
    k.sketch_block(values + start, m, params, index, cls, b);

    s.zero += b.by_class[kZero];
    s.nan += b.by_class[kNaN];
    s.positive_inf += b.by_class[kPositiveInf];
    s.negative_inf += b.by_class[kNegativeInf];
    s.min = std::min(s.min, b.min);
    s.max = std::max(s.max, b.max);
    add_sum(s, b.sum_hi, b.sum_lo);

    const std::uint64_t n_pos = b.by_class[kPositive];
    const std::uint64_t n_neg = b.by_class[kNegative];
    if (n_pos + n_neg == 0) continue;
    const std::int32_t plo = n_pos ? b.positive_min_index + origin : 1;
    const std::int32_t phi = n_pos ? b.positive_max_index + origin : 0;
    const std::int32_t nlo = n_neg ? b.negative_min_index + origin : 1;
    const std::int32_t nhi = n_neg ? b.negative_max_index + origin : 0;
    const int by = downscale_needed(s, plo, phi, nlo, nhi);
    if (by > 0) {
      downscale(s, by);
      for (std::size_t i = 0; i < m; ++i) index[i] = (index[i] + origin) >> by;
      origin = 0;
    }
    if (n_pos) s.positive.cover(plo >> by, phi >> by, max_buckets_);
    if (n_neg) s.negative.cover(nlo >> by, nhi >> by, max_buckets_);
    std::uint64_t* pos = s.positive.data();
    const std::int32_t pos_base = s.positive.base();
    if (n_pos == m) {  // cls[] is only written when this is false
      // All positive (the latency case): the indices are store offsets unless
      // the store moved (growth, downscale); then one vectorized pass fixes them.
      auto* offset = reinterpret_cast<std::uint32_t*>(index);
      if (origin != pos_base) {
        const std::int32_t shift = origin - pos_base;
        for (std::size_t i = 0; i < m; ++i) offset[i] = std::uint32_t(index[i] + shift);
      }
      // The increments leave memory idle: stream the next block in meanwhile,
      // one cache line (8 values) per 8 increments, so the kernel finds it in
      // cache instead of waiting for DRAM.
      const double* next = values + start + m;
      const std::size_t ahead = std::min(kSketchBlock, n - start - m);
      std::size_t i = 0;
      for (; i + 8 <= m; i += 8) {
        if (i < ahead) __builtin_prefetch(next + i, 0, 3);
        ++pos[offset[i]];
        ++pos[offset[i + 1]];
        ++pos[offset[i + 2]];
        ++pos[offset[i + 3]];
        ++pos[offset[i + 4]];
        ++pos[offset[i + 5]];
        ++pos[offset[i + 6]];
        ++pos[offset[i + 7]];
      }
      for (; i < m; ++i) ++pos[offset[i]];
    } else {
      // Mixed signs: a branch per value on the class would mispredict about
      // half the time on signed data, so pick the counter without one: each
      // class has a base pointer, and the classes without buckets (zero, NaN,
      // infinities) all count into one scratch cell at offset 0.
      std::uint64_t scratch = 0;
      const std::int32_t pos_shift = origin - pos_base, neg_shift = origin - s.negative.base();
      std::uint64_t* const base[6] = {pos, s.negative.data(), &scratch, &scratch, &scratch, &scratch};
      const std::int32_t shift[6] = {pos_shift, neg_shift, 0, 0, 0, 0};
      for (std::size_t i = 0; i < m; ++i) {
        const std::uint8_t c = cls[i];
        const std::int32_t offset = c < 2 ? index[i] + shift[c] : 0;
        ++base[c][offset];
      }
    }
    if (n_pos) s.positive.note_added(plo >> by, phi >> by, n_pos);
    if (n_neg) s.negative.note_added(nlo >> by, nhi >> by, n_neg);
  }
}

void QuantileSketch::merge(const QuantileSketch& other) {
  State theirs = other.snapshot();  // other is never modified; also safe for self-merge
  Lock lock(mutex_);
  fold_into(state_, std::move(theirs));
}

void QuantileSketch::fold_into(State& s, State theirs) const {
  const int target = std::min(s.scale, theirs.scale);
  State merged = s;
  downscale(merged, merged.scale - target);
  downscale(theirs, theirs.scale - target);
  const int by = downscale_needed(merged, theirs.positive.lo(), theirs.positive.hi(),
                                  theirs.negative.lo(), theirs.negative.hi());
  downscale(merged, by);
  downscale(theirs, by);
  // Overflow checks first, so a failed merge changes nothing.
  check_room(merged.all_count(), theirs.all_count());
  std::uint64_t check = merged.finite_count();
  add_checked(check, theirs.finite_count());
  add_checked(merged.zero, theirs.zero);
  add_checked(merged.nan, theirs.nan);
  add_checked(merged.positive_inf, theirs.positive_inf);
  add_checked(merged.negative_inf, theirs.negative_inf);
  for (bool negative : {false, true}) {
    BucketStore& into = negative ? merged.negative : merged.positive;
    const BucketStore& from = negative ? theirs.negative : theirs.positive;
    if (from.empty()) continue;
    into.cover(from.lo(), from.hi(), max_buckets_);
    for (std::int32_t i = from.lo(); i <= from.hi(); ++i) {
      const std::uint64_t c = from.count(i);
      if (c) into.add(i, c);
    }
  }
  merged.min = std::min(merged.min, theirs.min);
  merged.max = std::max(merged.max, theirs.max);
  add_sum(merged, theirs.sum_hi, theirs.sum_lo);
  s = std::move(merged);
}

void QuantileSketch::reset() {
  Lock lock(mutex_);
  state_ = State();
  state_.scale = requested_scale_;
  state_.mapping = &ExponentMapping::at(requested_scale_);
  state_.min = kInf;
  state_.max = -kInf;
}

double QuantileSketch::quantile_of(const State& s, double q) {
  const std::uint64_t n = s.finite_count();
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  const auto rank = std::uint64_t(std::floor(q * double(n - 1)));
  if (rank == 0) return s.min;
  if (rank >= n - 1) return s.max;
  const ExponentMapping& mapping = ExponentMapping::at(s.scale);
  auto clamp = [&](double v) { return std::min(std::max(v, s.min), s.max); };
  std::uint64_t seen = 0;
  // Ascending order: negative magnitudes from the largest, zeros, positives.
  if (!s.negative.empty()) {
    for (std::int32_t i = s.negative.hi(); i >= s.negative.lo(); --i) {
      seen += s.negative.count(i);
      if (seen > rank) return clamp(-mapping.representative(i));
    }
  }
  seen += s.zero;
  if (seen > rank) return clamp(0.0);
  for (std::int32_t i = s.positive.lo(); i <= s.positive.hi(); ++i) {
    seen += s.positive.count(i);
    if (seen > rank) return clamp(mapping.representative(i));
  }
  return s.max;  // unreachable when the counts are consistent
}

std::pair<double, double> QuantileSketch::rank_bracket(std::uint64_t rank) const {
  const State s = snapshot();
  const std::uint64_t n = s.finite_count();
  if (rank >= n) throw std::out_of_range("rank " + std::to_string(rank) + " of " + std::to_string(n) + " values");
  const ExponentMapping& mapping = ExponentMapping::at(s.scale);
  constexpr double widen = 0x1p-40;
  auto clamped = [&](double lo, double hi) {
    return std::make_pair(std::max(lo, s.min), std::min(hi, s.max));
  };
  std::uint64_t seen = 0;
  // Ascending order: negative magnitudes from the largest, zeros, positives.
  if (!s.negative.empty()) {
    for (std::int32_t i = s.negative.hi(); i >= s.negative.lo(); --i) {
      seen += s.negative.count(i);
      if (seen > rank) {  // magnitudes in (L, U]: values in [-U, -L)
        return clamped(-mapping.upper_bound(i) * (1 + widen), -mapping.lower_bound(i) * (1 - widen));
      }
    }
  }
  seen += s.zero;
  if (seen > rank) return std::make_pair(0.0, 0.0);
  for (std::int32_t i = s.positive.lo(); i <= s.positive.hi(); ++i) {
    seen += s.positive.count(i);
    if (seen > rank) return clamped(mapping.lower_bound(i) * (1 - widen), mapping.upper_bound(i) * (1 + widen));
  }
  return std::make_pair(s.min, s.max);  // unreachable when the counts are consistent
}

double QuantileSketch::quantile(double q) const {
  if (!(q >= 0.0 && q <= 1.0)) {
    throw std::invalid_argument("quantile q must be in [0, 1], got " + std::to_string(q));
  }
  const State s = snapshot();
  return quantile_of(s, q);
}

std::vector<double> QuantileSketch::quantiles(const std::vector<double>& qs) const {
  for (double q : qs) {
    if (!(q >= 0.0 && q <= 1.0)) {
      throw std::invalid_argument("quantile q must be in [0, 1], got " + std::to_string(q));
    }
  }
  const State s = snapshot();
  std::vector<double> out;
  out.reserve(qs.size());
  for (double q : qs) out.push_back(quantile_of(s, q));
  return out;
}

double QuantileSketch::rank(double x) const {
  const State s = snapshot();
  const std::uint64_t n = s.finite_count();
  if (n == 0 || std::isnan(x)) return std::numeric_limits<double>::quiet_NaN();
  if (x < s.min) return 0.0;
  if (x >= s.max) return 1.0;
  const ExponentMapping& mapping = ExponentMapping::at(s.scale);
  std::uint64_t below = 0;
  if (!s.negative.empty()) {
    for (std::int32_t i = s.negative.hi(); i >= s.negative.lo(); --i) {
      if (-mapping.representative(i) <= x) below += s.negative.count(i);
    }
  }
  if (x >= 0.0) below += s.zero;
  if (!s.positive.empty()) {
    for (std::int32_t i = s.positive.lo(); i <= s.positive.hi(); ++i) {
      if (mapping.representative(i) > x) break;
      below += s.positive.count(i);
    }
  }
  return double(below) / double(n);
}

int QuantileSketch::scale() const {
  Lock lock(mutex_);
  return state_.scale;
}

std::uint64_t QuantileSketch::count() const { return snapshot().finite_count(); }
std::uint64_t QuantileSketch::zero_count() const {
  Lock lock(mutex_);
  return state_.zero;
}
std::uint64_t QuantileSketch::nan_count() const {
  Lock lock(mutex_);
  return state_.nan;
}
std::uint64_t QuantileSketch::positive_inf_count() const {
  Lock lock(mutex_);
  return state_.positive_inf;
}
std::uint64_t QuantileSketch::negative_inf_count() const {
  Lock lock(mutex_);
  return state_.negative_inf;
}
double QuantileSketch::sum() const {
  Lock lock(mutex_);
  return state_.sum_hi + state_.sum_lo;
}
double QuantileSketch::min() const {
  Lock lock(mutex_);
  return state_.min == kInf ? std::numeric_limits<double>::quiet_NaN() : state_.min;
}
double QuantileSketch::max() const {
  Lock lock(mutex_);
  return state_.max == -kInf ? std::numeric_limits<double>::quiet_NaN() : state_.max;
}
std::size_t QuantileSketch::bucket_count() const {
  Lock lock(mutex_);
  auto span = [](const BucketStore& b) {
    return b.empty() ? std::size_t(0) : std::size_t(b.hi() - b.lo() + 1);
  };
  return span(state_.positive) + span(state_.negative);
}

std::vector<std::pair<std::int32_t, std::uint64_t>> QuantileSketch::buckets(bool negative) const {
  const State s = snapshot();
  const BucketStore& store = negative ? s.negative : s.positive;
  std::vector<std::pair<std::int32_t, std::uint64_t>> out;
  if (store.empty()) return out;
  for (std::int32_t i = store.lo(); i <= store.hi(); ++i) {
    if (store.count(i)) out.emplace_back(i, store.count(i));
  }
  return out;
}

bool QuantileSketch::operator==(const QuantileSketch& other) const {
  if (this == &other) return true;
  const State a = snapshot();
  const State b = other.snapshot();
  auto same = [](double x, double y) { return x == y || (std::isnan(x) && std::isnan(y)); };
  return a.scale == b.scale && a.zero == b.zero && a.nan == b.nan &&
         a.positive_inf == b.positive_inf && a.negative_inf == b.negative_inf &&
         same(a.min, b.min) && same(a.max, b.max) && same(a.sum_hi + a.sum_lo, b.sum_hi + b.sum_lo) &&
         a.positive.same_counts(b.positive) && a.negative.same_counts(b.negative);
}

std::vector<std::uint8_t> QuantileSketch::to_bytes() const {
  const State s = snapshot();
  ByteWriter w;
  w.u8(std::uint8_t(std::int8_t(s.scale)));
  w.u8(std::uint8_t(std::int8_t(requested_scale_)));
  w.u16(0);
  w.u32(max_buckets_);
  w.u64(s.zero);
  w.u64(s.nan);
  w.u64(s.positive_inf);
  w.u64(s.negative_inf);
  w.f64(s.min);
  w.f64(s.max);
  w.f64(s.sum_hi);
  w.f64(s.sum_lo);
  for (const BucketStore* store : {&s.positive, &s.negative}) {
    const std::vector<std::uint64_t> counts = store->occupied();
    w.u32(std::uint32_t(counts.empty() ? 0 : store->lo()));
    w.u32(std::uint32_t(counts.size()));
    for (std::uint64_t c : counts) w.u64(c);
  }
  return seal(ObjectType::quantile_sketch, w.bytes());
}

QuantileSketch QuantileSketch::from_bytes(const std::uint8_t* data, std::size_t size) {
  ByteReader r = open(ObjectType::quantile_sketch, data, size);
  const int scale = std::int8_t(r.u8("scale"));
  const int requested = std::int8_t(r.u8("requested scale"));
  if (r.u16("reserved") != 0) throw decode_error("reserved bytes are not zero");
  const std::uint32_t max_buckets = r.u32("max_buckets");
  if (scale < ExponentMapping::min_scale || requested > ExponentMapping::max_scale ||
      scale > requested) {
    throw decode_error("scales out of range: scale " + std::to_string(scale) + ", requested " +
                       std::to_string(requested));
  }
  if (max_buckets < min_max_buckets || max_buckets > max_max_buckets) {
    throw decode_error("max_buckets " + std::to_string(max_buckets) + " out of range");
  }
  QuantileSketch sketch(requested, max_buckets);
  State& s = sketch.state_;
  s.scale = scale;
  s.mapping = &ExponentMapping::at(scale);
  s.zero = r.u64("zero count");
  s.nan = r.u64("nan count");
  s.positive_inf = r.u64("+inf count");
  s.negative_inf = r.u64("-inf count");
  s.min = r.f64("min");
  s.max = r.f64("max");
  s.sum_hi = r.f64("sum");
  s.sum_lo = r.f64("sum");
  const ExponentMapping& mapping = ExponentMapping::at(scale);
  std::uint64_t total = 0;
  auto accumulate = [&](std::uint64_t c) {
    if (total + c < total) throw decode_error("counts add up past 2^64 - 1");
    total += c;
  };
  accumulate(s.zero);
  for (BucketStore* store : {&s.positive, &s.negative}) {
    const auto first = std::int32_t(r.u32("store first index"));
    const std::uint32_t length = r.u32("store length");
    if (length > max_buckets) {
      throw decode_error("store of " + std::to_string(length) + " buckets exceeds max_buckets " +
                         std::to_string(max_buckets));
    }
    r.require(length, 8, "store counts");
    if (length > 0 && (first < mapping.min_index() ||
                       std::int64_t(first) + length - 1 > mapping.max_index())) {
      throw decode_error("store indices outside the range of doubles at scale " +
                         std::to_string(scale));
    }
    if (length == 0 && first != 0) throw decode_error("empty store with a non-zero first index");
    std::vector<std::uint64_t> counts(length);
    for (std::uint64_t& c : counts) {
      c = r.u64("bucket count");
      accumulate(c);
    }
    if (length > 0 && (counts.front() == 0 || counts.back() == 0)) {
      throw decode_error("store is not trimmed: its first and last counts must be non-zero");
    }
    store->assign(first, std::move(counts));
  }
  r.expect_end("sketch payload");
  // Consistency of the exact statistics with the buckets.
  if (total == 0) {
    if (s.min != kInf || s.max != -kInf) throw decode_error("empty sketch with a min or max");
  } else {
    if (!(std::isfinite(s.min) && std::isfinite(s.max) && s.min <= s.max)) {
      throw decode_error("min and max must be finite with min <= max");
    }
    // The extremes must sit in the outermost occupied buckets (or be zero).
    auto bucket_of = [&](double v) {
      return v == 0.0 ? std::int64_t(0) : std::int64_t(mapping.index(std::fabs(v)));
    };
    const bool min_ok = !s.negative.empty()
                            ? (s.min < 0 && bucket_of(s.min) == s.negative.hi())
                            : s.zero > 0 ? s.min == 0.0
                                         : (s.min > 0 && bucket_of(s.min) == s.positive.lo());
    const bool max_ok = !s.positive.empty()
                            ? (s.max > 0 && bucket_of(s.max) == s.positive.hi())
                            : s.zero > 0 ? s.max == 0.0
                                         : (s.max < 0 && bucket_of(s.max) == s.negative.lo());
    if (!min_ok || !max_ok) throw decode_error("min and max contradict the buckets");
  }
  const std::uint64_t specials[] = {s.nan, s.positive_inf, s.negative_inf};
  for (std::uint64_t c : specials) accumulate(c);
  return sketch;
}

}  // namespace driftline
