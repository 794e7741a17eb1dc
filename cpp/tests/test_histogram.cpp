// Histogram kernels: every SIMD variant this CPU runs gives the counts of a
// binary search over the edges, for the special values, every edge and its
// neighbours, and the axis widths that select different kernels.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"
#include "driftline/errors.hpp"
#include "driftline/histogram.hpp"
#include "driftline/kernels.hpp"

using driftline::Axis;
using driftline::Histogram;

namespace {

std::vector<std::uint64_t> reference_counts(const Axis& axis, const std::vector<double>& x) {
  std::vector<std::uint64_t> counts(axis.slots(), 0);
  const auto& e = axis.edges();
  for (double v : x) {
    if (std::isnan(v)) {
      ++counts[axis.nan_slot()];
    } else {
      ++counts[std::size_t(std::upper_bound(e.begin(), e.end(), v) - e.begin())];
    }
  }
  return counts;
}

std::vector<double> probe_values(const Axis& axis, dltest::Random& rng, std::size_t n) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> x{inf, -inf, std::numeric_limits<double>::quiet_NaN(), 0.0, -0.0,
                        std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::max(),
                        -std::numeric_limits<double>::max()};
  for (double e : axis.edges()) {
    x.push_back(e);
    x.push_back(std::nextafter(e, inf));
    x.push_back(std::nextafter(e, -inf));
  }
  const double span = axis.hi() - axis.lo();
  while (x.size() < n) {
    x.push_back(axis.lo() - 0.1 * span + 1.2 * span * (0.5 + 0.25 * rng.bell()));
  }
  return x;
}

struct AxisCase {
  std::string name;
  Axis axis;
};

std::vector<AxisCase> axis_cases() {
  std::vector<double> deciles{-1.28, -0.84, -0.52, -0.25, 0.0, 0.25, 0.52, 0.84, 1.28};
  std::vector<double> wide;  // more than kCumulativeMaxEdges: the scatter path
  for (int i = 0; i <= 300; ++i) wide.push_back(-3.0 + 0.02 * i + 1e-4 * (i % 7));
  return {
      {"uniform10", Axis::uniform(-5, 5, 10)},
      {"uniform100", Axis::uniform(-5, 5, 100)},
      {"uniform2000", Axis::uniform(-2, 2, 2000)},
      {"uniform_offset", Axis::uniform(1e6, 1e6 + 3, 7)},
      {"deciles", Axis::variable(deciles)},
      {"edges17", Axis::variable(std::vector<double>(wide.begin(), wide.begin() + 17))},
      {"edges301", Axis::variable(wide)},
  };
}

}  // namespace

DL_TEST(fill_equals_binary_search_on_every_variant) {
  for (const AxisCase& c : axis_cases()) {
    dltest::Random rng(7);
    // An odd length, so every kernel's tail path runs too.
    const std::vector<double> x = probe_values(c.axis, rng, 100003);
    const auto expected = reference_counts(c.axis, x);
    for (const std::string& variant : driftline::available_kernels()) {
      driftline::select_kernels(variant);
      Histogram h(c.axis);
      h.fill(x.data(), x.size());
      if (h.slot_counts() != expected) dltest::fail(__FILE__, __LINE__, c.name + " on " + variant);
      // Partial blocks: lengths 0..70 from odd offsets.
      for (std::size_t n = 0; n <= 70; ++n) {
        Histogram part(c.axis);
        part.fill(x.data() + 3, n);
        const std::vector<double> head(x.begin() + 3, x.begin() + 3 + std::ptrdiff_t(n));
        if (part.slot_counts() != reference_counts(c.axis, head)) {
          dltest::fail(__FILE__, __LINE__, c.name + " partial block of " + std::to_string(n) + " on " + variant);
        }
      }
    }
    driftline::select_kernels("auto");
    dltest::record(c.name, expected);
  }
}

DL_TEST(record_merge_reset_and_totals) {
  const Axis axis = Axis::uniform(0, 1, 4);
  Histogram a(axis), b(axis);
  const std::vector<double> xs{0.1, 0.3, 0.6, 0.9, 1.0, -1.0, std::nan("")};
  for (double x : xs) a.record(x);
  b.fill(xs.data(), xs.size());
  CHECK(a == b);
  CHECK_EQ(a.total(), std::uint64_t(7));
  const std::vector<std::uint64_t> expected{1, 1, 1, 1, 1, 1, 1};
  CHECK(a.slot_counts() == expected);
  a.merge(b);
  CHECK_EQ(a.total(), std::uint64_t(14));
  CHECK_THROWS(driftline::axis_mismatch, a.merge(Histogram(Axis::uniform(0, 1, 5))));
  a.reset();
  CHECK_EQ(a.total(), std::uint64_t(0));
  dltest::record("bytes", b.to_bytes());
}

DL_TEST(large_fill_counts_exactly) {
  dltest::Random rng(11);
  std::vector<double> x(1 << 20);
  for (double& v : x) v = rng.bell();
  const Axis axis = Axis::uniform(-2, 2, 40);
  const auto expected = reference_counts(axis, x);
  for (const std::string& variant : driftline::available_kernels()) {
    driftline::select_kernels(variant);
    Histogram h(axis);
    h.fill(x.data(), x.size());
    if (h.slot_counts() != expected) dltest::fail(__FILE__, __LINE__, "bell fill on " + variant);
  }
  driftline::select_kernels("auto");
  dltest::record("bell_counts", expected);
}
