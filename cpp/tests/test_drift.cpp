// Drift statistics and the distributions behind their p-values: against values
// scipy computed for the same inputs (stated next to each), against brute force
// on random samples, and recorded bit for bit for the cross-machine comparison.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"
#include "driftline/distributions.hpp"
#include "driftline/drift.hpp"

namespace dl = driftline;

namespace {

bool close(double a, double b, double relative) {
  return std::fabs(a - b) <= relative * std::fabs(b);
}

#define CHECK_CLOSE(a, b, rel)                                                                   \
  do {                                                                                           \
    if (!close((a), (b), (rel))) dltest::fail(__FILE__, __LINE__, #a ": " + dltest::describe_pair((a), (b))); \
  } while (0)

std::vector<double> sorted(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// max |F1 - F2| over every sample point, by brute force.
double brute_ks(const std::vector<double>& a, const std::vector<double>& b) {
  double d = 0;
  for (const auto* s : {&a, &b}) {
    for (double x : *s) {
      const double fa = double(std::upper_bound(a.begin(), a.end(), x) - a.begin()) / double(a.size());
      const double fb = double(std::upper_bound(b.begin(), b.end(), x) - b.begin()) / double(b.size());
      d = std::max(d, std::fabs(fa - fb));
    }
  }
  return d;
}

// Two samples with ties (values on a grid of 1/8).
std::vector<double> tied_sample(dltest::Random& rng, std::size_t n, double shift) {
  std::vector<double> v(n);
  for (double& x : v) x = std::floor((rng.bell() + shift) * 8.0) / 8.0;
  return sorted(v);
}

}  // namespace

DL_TEST(ks_matches_scipy) {
  const auto a = sorted({0.61, -1.2, 0.3, 2.5, 0.3, -0.7, 1.1, 0.05, -2.2, 0.9, 0.3, 1.7});
  const auto b = sorted({1.4, 0.2, 2.9, 0.3, 1.1, 3.3, -0.4, 2.2, 0.8, 1.9});
  // scipy.stats.ks_2samp(a, b, method=...): statistic 0.36666666666666664,
  // p-values 0.3565443844081615 (exact) and 0.4103967078189301 (asymp).
  const auto exact = dl::ks_two_sample(a.data(), a.size(), b.data(), b.size(), dl::KsMethod::exact);
  CHECK_EQ(exact.statistic, 0.36666666666666664);
  CHECK_CLOSE(exact.pvalue, 0.3565443844081615, 1e-12);
  const auto asymp = dl::ks_two_sample(a.data(), a.size(), b.data(), b.size(), dl::KsMethod::asymptotic);
  CHECK_CLOSE(asymp.pvalue, 0.4103967078189301, 1e-12);
  // scipy.stats.wasserstein_distance(a, b) = 1.065
  CHECK_CLOSE(dl::wasserstein(a.data(), a.size(), b.data(), b.size()), 1.065, 1e-12);
}

DL_TEST(ks_statistic_equals_brute_force) {
  dltest::Random rng(31);
  std::vector<double> statistics, pvalues;
  for (int trial = 0; trial < 200; ++trial) {
    const auto a = tied_sample(rng, std::size_t(rng.integer(1, 300)), 0.0);
    const auto b = tied_sample(rng, std::size_t(rng.integer(1, 300)), 0.1 * double(trial % 5));
    for (auto method : {dl::KsMethod::exact, dl::KsMethod::asymptotic}) {
      const auto r = dl::ks_two_sample(a.data(), a.size(), b.data(), b.size(), method);
      if (std::fabs(r.statistic - brute_ks(a, b)) > 1e-12) {
        dltest::fail(__FILE__, __LINE__, "trial " + std::to_string(trial));
      }
      CHECK(r.pvalue >= 0.0 && r.pvalue <= 1.0);
      statistics.push_back(r.statistic);
      pvalues.push_back(r.pvalue);
    }
  }
  dltest::record("statistics", statistics);
  dltest::record_approx("pvalues", pvalues);
}

DL_TEST(large_ks_and_binned_bound) {
  dltest::Random rng(32);
  std::vector<double> a(20000), b(15000);
  for (double& x : a) x = rng.bell();
  for (double& x : b) x = rng.bell() * 1.05 + 0.02;
  a = sorted(a);
  b = sorted(b);
  const auto r = dl::ks_two_sample(a.data(), a.size(), b.data(), b.size(), dl::KsMethod::automatic);
  dltest::record("statistic", r.statistic);
  dltest::record_approx("pvalue", {r.pvalue});
  // Binned over 12 cells: the statistic at the edges <= raw statistic <= bound.
  const std::vector<double> edges{-1.5, -1.0, -0.6, -0.3, 0.0, 0.3, 0.6, 1.0, 1.5, 1.9};
  auto cells = [&](const std::vector<double>& v) {
    std::vector<double> c(edges.size() + 1, 0.0);
    for (double x : v) c[std::size_t(std::upper_bound(edges.begin(), edges.end(), x) - edges.begin())] += 1;
    return c;
  };
  const auto binned = dl::ks_binned(cells(a), cells(b));
  CHECK(binned.statistic <= r.statistic + 1e-15);
  CHECK(r.statistic <= binned.bound + 1e-15);
  dltest::record("binned", std::vector<double>{binned.statistic, binned.bound});
  dltest::record_approx("binned_pvalue", {binned.pvalue});
  const auto w = dl::wasserstein_binned(cells(a), cells(b), edges);
  dltest::record("wasserstein_binned", std::vector<double>{w.distance, w.bound});
  dltest::record("wasserstein", dl::wasserstein(a.data(), a.size(), b.data(), b.size()));
}

DL_TEST(binned_statistics_match_scipy) {
  const std::vector<double> r{10, 20, 30, 40, 0}, c{40, 30, 20, 10, 5};
  // scipy.spatial.distance.jensenshannon(p, q, base=2) and the Hellinger formula.
  CHECK_CLOSE(dl::js_distance(r, c), 0.41719196142367937, 1e-12);
  CHECK_CLOSE(dl::hellinger(r, c), 0.36269619116669705, 1e-12);
  // PSI on smoothed proportions, recomputed here term by term in long double.
  long double expected = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    const long double p = (r[i] + 0.5L) / (100 + 2.5L), q = (c[i] + 0.5L) / (105 + 2.5L);
    expected += (q - p) * std::log(q / p);
  }
  CHECK_CLOSE(dl::psi(r, c, 0.5), double(expected), 1e-13);
  CHECK(std::isnan(dl::psi(r, std::vector<double>(5, 0.0), 0.5)));
  CHECK_THROWS(std::invalid_argument, dl::psi(r, {1, 2}, 0.5));
  CHECK_THROWS(std::invalid_argument, dl::psi(r, c, 0.0));
  CHECK_THROWS(std::invalid_argument, dl::psi(r, {1, 2, -3, 4, 5}, 0.5));
  // scipy.stats.chi2_contingency([[12, 30, 44, 9], [20, 25, 30, 21]], correction=False)
  const auto chi = dl::chi2_homogeneity({12, 30, 44, 9}, {20, 25, 30, 21});
  CHECK_CLOSE(chi.statistic, 9.898229826716669, 1e-12);
  CHECK_CLOSE(chi.pvalue, 0.019451326304242993, 1e-10);
  CHECK_EQ(chi.dof, 3.0);
  // chi2.isf(0.01, 9) * (1/1000 + 1/500)
  CHECK_CLOSE(dl::psi_threshold(1000, 500, 10, 0.01), 0.06499798300038578, 1e-10);
  dltest::record("values", std::vector<double>{dl::js_distance(r, c), dl::hellinger(r, c), dl::psi(r, c, 0.5),
                                               chi.statistic});
  dltest::record_approx("pvalues", {chi.pvalue, dl::psi_threshold(1000, 500, 10, 0.01)});
}

DL_TEST(distributions_match_scipy) {
  CHECK_CLOSE(dl::chi2_sf(12.5, 7), 0.08526927515826925, 1e-12);      // scipy.stats.chi2.sf
  CHECK_CLOSE(dl::chi2_sf(300.0, 250), 0.016518273157868715, 1e-12);
  CHECK_CLOSE(dl::kolmogorov_sf(100, 0.1), 0.2526927570063874, 1e-10);  // scipy.stats.kstwo.sf
  CHECK_CLOSE(dl::kolmogorov_sf(20, 0.3), 0.04306706665851623, 1e-10);
  std::vector<double> values;
  dltest::Random rng(33);
  for (int i = 0; i < 300; ++i) {
    const double d = rng.uniform(0.001, 0.6);
    const auto n = rng.integer(1, 5000);
    values.push_back(dl::kolmogorov_sf(n, d));
    values.push_back(dl::smirnov_sf(n, d));
    const double x = rng.uniform(0, 400);
    values.push_back(dl::chi2_sf(x, double(rng.integer(1, 300))));
  }
  for (std::int64_t h = 1; h <= 60; ++h) values.push_back(dl::ks_two_sample_exact_sf(12, 10, h));
  dltest::record_approx("values", values);
}
