// Axes: uniform edges equal numpy.linspace (two roundings per edge, never an
// FMA), slot() agrees with a binary search over the edges, bad axes are refused.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "driftline/axis.hpp"

using driftline::Axis;

namespace {

// numpy.linspace(lo, hi, bins + 1): step = (hi - lo) / bins; y = i * step + lo,
// each operation rounded on its own (numpy multiplies the whole arange first);
// y[-1] = hi. volatile keeps the compiler from fusing the two into an FMA.
std::vector<double> linspace(double lo, double hi, std::int64_t bins) {
  const double step = (hi - lo) / double(bins);
  std::vector<double> out(std::size_t(bins) + 1);
  for (std::int64_t i = 0; i < bins; ++i) {
    volatile double product = double(i) * step;
    out[std::size_t(i)] = product + lo;
  }
  out.back() = hi;
  return out;
}

std::uint32_t reference_slot(const std::vector<double>& edges, double x) {
  if (std::isnan(x)) return std::uint32_t(edges.size() + 1);
  return std::uint32_t(std::upper_bound(edges.begin(), edges.end(), x) - edges.begin());
}

}  // namespace

DL_TEST(uniform_edges_are_linspace) {
  const Axis a = Axis::uniform(-5, 5, 100);
  CHECK(a.edges() == linspace(-5, 5, 100));
  dltest::record("uniform_-5_5_100", a.edges());

  dltest::Random rng(1);
  std::vector<double> all;
  int mismatched_axes = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    const double lo = rng.uniform(-1000, 1000);
    const double hi = lo + rng.uniform(1e-3, 500);
    const auto bins = rng.integer(1, 200);
    const Axis axis = Axis::uniform(lo, hi, bins);
    if (axis.edges() != linspace(lo, hi, bins)) ++mismatched_axes;
    all.insert(all.end(), axis.edges().begin(), axis.edges().end());
  }
  CHECK_EQ(mismatched_axes, 0);
  dltest::record("random_uniform_axes", all);
}

DL_TEST(slot_matches_binary_search) {
  dltest::Random rng(2);
  const double inf = std::numeric_limits<double>::infinity();
  for (int trial = 0; trial < 300; ++trial) {
    const bool uniform = trial % 2 == 0;
    const double lo = rng.uniform(-10, 0);
    const double hi = rng.uniform(0.5, 10);
    const auto bins = rng.integer(1, 64);
    std::vector<double> variable_edges{lo};
    for (std::int64_t i = 0; i < bins; ++i) {
      const double gap = rng.uniform(1e-6, 2);
      variable_edges.push_back(variable_edges.back() + gap);
    }
    const Axis axis = uniform ? Axis::uniform(lo, hi, bins) : Axis::variable(variable_edges);
    const auto& edges = axis.edges();
    std::vector<double> probes{inf, -inf, std::numeric_limits<double>::quiet_NaN(), 0.0, -0.0};
    for (double e : edges) {
      probes.push_back(e);
      probes.push_back(std::nextafter(e, inf));
      probes.push_back(std::nextafter(e, -inf));
    }
      for (int i = 0; i < 200; ++i) probes.push_back(rng.uniform(edges.front() - 1, edges.back() + 1));
    int wrong = 0;
    for (double x : probes) wrong += axis.slot(x) != reference_slot(edges, x) ? 1 : 0;
    CHECK_EQ(wrong, 0);
  }
}

DL_TEST(bad_axes_are_refused) {
  const double inf = std::numeric_limits<double>::infinity();
  CHECK_THROWS(std::invalid_argument, Axis::uniform(0, 1, 0));
  CHECK_THROWS(std::invalid_argument, Axis::uniform(0, 1, std::int64_t(Axis::max_bins) + 1));
  CHECK_THROWS(std::invalid_argument, Axis::uniform(1, 1, 10));
  CHECK_THROWS(std::invalid_argument, Axis::uniform(0, inf, 10));
  CHECK_THROWS(std::invalid_argument, Axis::uniform(-1.7e308, 1.7e308, 10));
  CHECK_THROWS(std::invalid_argument, Axis::uniform(1.0, std::nextafter(1.0, 2.0), 4));
  CHECK_THROWS(std::invalid_argument, Axis::variable({1.0}));
  CHECK_THROWS(std::invalid_argument, Axis::variable({0.0, 0.0}));
  CHECK_THROWS(std::invalid_argument, Axis::variable({0.0, std::numeric_limits<double>::quiet_NaN()}));
  CHECK_THROWS(std::invalid_argument, Axis::variable({2.0, 1.0}));
}

DL_TEST(describe_names_the_axis) {
  CHECK_EQ(Axis::uniform(-5, 5, 10).describe(), std::string("Uniform(-5, 5, bins=10)"));
  CHECK_EQ(Axis::variable({-1, 0, 2.5}).describe(), std::string("Edges([-1, 0, 2.5], bins=2)"));
}
