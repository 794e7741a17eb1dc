// The exponential bucket mapping and the quantile sketch: exact indices at every
// scale (checked at powers of two by integer arithmetic and elsewhere against a
// wide log2), identical sketches on every SIMD variant, the relative-error
// guarantee against exact sorted quantiles, merges equal to a single pass.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"
#include "driftline/exponent_mapping.hpp"
#include "driftline/kernels.hpp"
#include "driftline/order_statistics.hpp"
#include "driftline/quantile_sketch.hpp"

using driftline::ExponentMapping;
using driftline::QuantileSketch;

namespace {

// Bucket of 2^k at scale s: the i with 2^(i / 2^s) < 2^k <= 2^((i + 1) / 2^s),
// i.e. i = ceil(k * 2^s) - 1, in integers.
std::int64_t power_of_two_index(std::int64_t k, int s) {
  if (s >= 0) return k * (std::int64_t(1) << s) - 1;
  const std::int64_t d = std::int64_t(1) << (-s);
  const std::int64_t q = k >= 0 ? (k + d - 1) / d : -((-k) / d);  // ceil(k / d)
  return q - 1;
}

std::vector<double> sketch_inputs(std::uint64_t seed, std::size_t n) {
  dltest::Random rng(seed);
  std::vector<double> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = (i % 97 == 0) ? -rng.heavy_tail() : rng.heavy_tail();
  x[5] = 0.0;
  x[6] = std::numeric_limits<double>::quiet_NaN();
  x[7] = std::numeric_limits<double>::infinity();
  x[8] = -std::numeric_limits<double>::infinity();
  x[9] = std::numeric_limits<double>::denorm_min();
  return x;
}

// Lower empirical quantile of the finite values: rank floor(q (n - 1)).
double exact_quantile(std::vector<double> finite, double q) {
  std::sort(finite.begin(), finite.end());
  const auto rank = std::size_t(std::floor(q * double(finite.size() - 1)));
  return finite[rank];
}

}  // namespace

DL_TEST(index_is_exact_at_powers_of_two) {
  for (int s = ExponentMapping::min_scale; s <= ExponentMapping::max_scale; ++s) {
    const ExponentMapping& m = ExponentMapping::at(s);
    int wrong = 0;
    for (int k = -1022; k <= 1023; ++k) {
      const double x = std::ldexp(1.0, k);
      const std::int64_t i = m.index(x);
      wrong += i != power_of_two_index(k, s) ? 1 : 0;
      // The neighbours: just below 2^k stays in its bucket; just above is the
      // next bucket where 2^k is a boundary (k * 2^s an integer), else the same.
      const bool boundary = s >= 0 || k % (1 << -s) == 0;
      const double above = std::nextafter(x, std::numeric_limits<double>::infinity());
      wrong += m.index(above) != i + (boundary ? 1 : 0) ? 1 : 0;
      wrong += m.index(std::nextafter(x, 0.0)) != i ? 1 : 0;
    }
    if (wrong != 0) dltest::fail(__FILE__, __LINE__, "scale " + std::to_string(s) + ": " + std::to_string(wrong));
  }
}

DL_TEST(index_agrees_with_wide_log2_and_is_monotonic) {
  dltest::Random rng(3);
  std::vector<double> x(20000);
  for (double& v : x) {
    const double mantissa = 1.0 + rng.uniform();
    v = std::ldexp(mantissa, int(rng.integer(-1000, 1000)));
  }
  std::sort(x.begin(), x.end());
  for (int s = ExponentMapping::min_scale; s <= ExponentMapping::max_scale; ++s) {
    const ExponentMapping& m = ExponentMapping::at(s);
    std::vector<std::uint64_t> indices;
    int wrong = 0, checked = 0;
    std::int32_t previous = std::numeric_limits<std::int32_t>::min();
    for (double v : x) {
      const std::int32_t i = m.index(v);
      indices.push_back(std::uint64_t(std::uint32_t(i)));
      wrong += i < previous ? 1 : 0;
      previous = i;
      // log2(v) * 2^s in long double (64 or 113 bits): trusted away from integers.
      const long double position = std::log2l((long double)v) * std::ldexp(1.0L, s);
      const long double nearest = std::nearbyint(position);
      if (std::fabs(position - nearest) < 1e-9L * std::max(1.0L, std::fabs(position))) continue;
      ++checked;
      wrong += i != std::int64_t(std::floor(position)) ? 1 : 0;
    }
    CHECK(checked > 15000);
    if (wrong != 0) dltest::fail(__FILE__, __LINE__, "scale " + std::to_string(s) + ": " + std::to_string(wrong));
    dltest::record("indices_scale_" + std::to_string(s), indices);
  }
}

DL_TEST(bounds_bracket_their_bucket) {
  for (int s : {-3, 0, 3, 6, 10}) {
    const ExponentMapping& m = ExponentMapping::at(s);
    std::vector<double> bounds;
    // Normal range only: below it the float64 grid itself is coarser than a bucket.
    const std::int32_t first = m.index(std::numeric_limits<double>::min()) + 1;
    for (std::int32_t i = first; i < m.max_index(); i += 1 + (m.max_index() - first) / 600) {
      const double lo = m.lower_bound(i), hi = m.upper_bound(i);
      CHECK(lo < hi);
      const double r = m.representative(i);
      CHECK(lo <= r && r <= hi);
      bounds.push_back(lo);
      bounds.push_back(r);
    }
    dltest::record("bounds_scale_" + std::to_string(s), bounds);
  }
}

DL_TEST(fill_is_identical_on_every_variant) {
  const std::vector<double> x = sketch_inputs(5, 200003);
  for (int s : {-2, 0, 3, 6, 9, 12}) {
    std::vector<std::uint8_t> first;
    for (const std::string& variant : driftline::available_kernels()) {
      driftline::select_kernels(variant);
      QuantileSketch sketch(s, 4096);
      sketch.fill(x.data(), x.size());
      const auto bytes = sketch.to_bytes();
      if (first.empty()) first = bytes;
      if (bytes != first) dltest::fail(__FILE__, __LINE__, "scale " + std::to_string(s) + " on " + variant);
      QuantileSketch recorded(s, 4096);
      for (double v : x) recorded.record(v);
      if (!(recorded == sketch)) dltest::fail(__FILE__, __LINE__, "record vs fill, " + variant);
    }
    driftline::select_kernels("auto");
    dltest::record("bytes_scale_" + std::to_string(s), first);
  }
}

DL_TEST(quantiles_within_the_guarantee) {
  std::vector<double> x = sketch_inputs(9, 100000);
  x[9] = 1.0;  // no subnormal: its buckets would not fit at the finest scale
  std::vector<double> finite;
  for (double v : x) {
    if (std::isfinite(v)) finite.push_back(v);
  }
  for (double accuracy : {0.05, 0.01, 0.001}) {
    QuantileSketch sketch = QuantileSketch::with_accuracy(accuracy, 1u << 16);
    sketch.fill(x.data(), x.size());
    CHECK_EQ(sketch.scale(), sketch.requested_scale());  // room enough: no scale lowering
    CHECK(sketch.relative_error() <= accuracy);
    CHECK_EQ(sketch.count(), std::uint64_t(finite.size()));
    std::vector<double> estimates;
    for (double q : {0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0}) {
      const double exact = exact_quantile(finite, q);
      const double estimate = sketch.quantile(q);
      estimates.push_back(estimate);
      if (exact != 0.0 && std::fabs(exact) > std::numeric_limits<double>::min()) {
        CHECK(std::fabs(estimate - exact) <= sketch.relative_error() * std::fabs(exact) * (1 + 1e-12));
      }
    }
    CHECK_EQ(sketch.quantile(0.0), *std::min_element(finite.begin(), finite.end()));
    CHECK_EQ(sketch.quantile(1.0), *std::max_element(finite.begin(), finite.end()));
    dltest::record("quantiles_" + std::to_string(accuracy), estimates);
    dltest::record("sum_" + std::to_string(accuracy), sketch.sum());
  }
}

DL_TEST(merged_parts_equal_one_pass_and_scale_lowers) {
  const std::vector<double> x = sketch_inputs(13, 40000);
  QuantileSketch whole(8, 64);  // few buckets: the scale must come down
  whole.fill(x.data(), x.size());
  CHECK(whole.scale() < 8);
  QuantileSketch merged(8, 64);
  for (std::size_t part = 0; part < 4; ++part) {
    QuantileSketch piece(8, 64);
    piece.fill(x.data() + part * 10000, 10000);
    merged.merge(piece);
  }
  CHECK(merged == whole);
  CHECK(whole.bucket_count() <= 2 * 64);
  dltest::record("downscaled_bytes", whole.to_bytes());
  CHECK_THROWS(std::invalid_argument, QuantileSketch(15, 64));
  CHECK_THROWS(std::invalid_argument, QuantileSketch(0, 3));
  CHECK_THROWS(std::invalid_argument, whole.quantile(1.5));
}

DL_TEST(reference_quantiles_equal_sorted_computation) {
  // numpy.quantile's linear method, from a full sort: (n - 1) q, floor, lerp.
  auto sorted_quantiles = [](std::vector<double> v, const std::vector<double>& qs) {
    std::vector<double> finite;
    for (double x : v) {
      if (std::isfinite(x)) finite.push_back(x);
    }
    std::sort(finite.begin(), finite.end());
    std::vector<double> out;
    for (double q : qs) {
      const double h = double(finite.size() - 1) * q, f = std::floor(h), t = h - f;
      const auto i = std::size_t(f);
      const double a = finite[std::min(i, finite.size() - 1)];
      const double b = finite[std::min(i + 1, finite.size() - 1)];
      volatile double diff = b - a;
      volatile double step = t >= 0.5 ? diff * (1.0 - t) : diff * t;
      out.push_back(h >= double(finite.size() - 1) ? finite.back() : (t >= 0.5 ? b - step : a + step));
    }
    return out;
  };
  std::vector<double> qs;
  for (int k = 0; k <= 10; ++k) qs.push_back(k / 10.0);
  dltest::Random rng(41);
  for (int trial = 0; trial < 12; ++trial) {
    std::vector<double> x(std::size_t(rng.integer(1, 200000)));
    for (double& v : x) v = trial % 3 == 0 ? std::floor(rng.bell() * 3) : (trial % 3 == 1 ? rng.heavy_tail() : rng.bell());
    x[0] = std::nan("");
    const QuantileSketch sketch = [&] {
      QuantileSketch s(6, 4096);
      s.fill(x.data(), x.size());
      return s;
    }();
    if (sketch.count() == 0) continue;
    const auto expected = sorted_quantiles(x, qs);
    for (const std::string& variant : driftline::available_kernels()) {
      driftline::select_kernels(variant);
      const auto got = driftline::linear_quantiles(x.data(), x.size(), sketch, qs);
      if (got.values != expected) dltest::fail(__FILE__, __LINE__, "trial " + std::to_string(trial) + " on " + variant);
    }
    driftline::select_kernels("auto");
    dltest::record("quantiles_" + std::to_string(trial), expected);
  }
}

DL_TEST(count_is_the_sum_of_the_buckets_through_every_change) {
  // The stores keep their totals as they change; count() must equal the
  // buckets' sum plus zeros after records, fills, downscales, merges and decodes.
  auto bucket_sum = [](const QuantileSketch& s) {
    std::uint64_t total = s.zero_count();
    for (bool negative : {false, true}) {
      for (const auto& bucket : s.buckets(negative)) total += bucket.second;
    }
    return total;
  };
  const std::vector<double> x = sketch_inputs(29, 6000);
  std::uint64_t finite = 0;
  for (double v : x) finite += std::isfinite(v) ? 1 : 0;
  QuantileSketch sketch(8, 64);  // few buckets: records and fills downscale on the way
  for (std::size_t i = 0; i < 3000; ++i) sketch.record(x[i]);
  CHECK(sketch.count() == bucket_sum(sketch));
  sketch.fill(x.data() + 3000, 7);  // in place
  sketch.fill(x.data() + 3007, 2993);  // privately, then folded
  CHECK(sketch.count() == finite && sketch.count() == bucket_sum(sketch));
  QuantileSketch other(10, 256);
  other.fill(x.data(), 1000);
  sketch.merge(other);
  CHECK(sketch.count() == bucket_sum(sketch));
  const std::vector<std::uint8_t> bytes = sketch.to_bytes();
  const QuantileSketch decoded = QuantileSketch::from_bytes(bytes.data(), bytes.size());
  CHECK(decoded.count() == sketch.count() && decoded.count() == bucket_sum(decoded));
  QuantileSketch grown = decoded;
  grown.record(1e300);  // a decoded sketch keeps counting from its decoded total
  CHECK(grown.count() == decoded.count() + 1 && grown.count() == bucket_sum(grown));
}
