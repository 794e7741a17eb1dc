// driftline/drift.hpp -- drift statistics between a reference and a current distribution.
//
// Binned statistics take two count vectors over the same cells (for histograms:
// underflow, the bins, overflow; NaN is a data-quality signal, not a cell).
// Sample statistics take sorted samples without NaN (the bindings sort).
// All functions are pure: thread-safe, no allocation beyond their result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace driftline {

// Population stability index on proportions smoothed with `smoothing` pseudo-counts
// per cell: p_i = (r_i + s) / (R + k s), q_i likewise; PSI = sum (q_i - p_i) ln(q_i / p_i).
// NaN when either side has no counts. Throws std::invalid_argument for
// mismatched lengths, negative or non-finite counts, or smoothing <= 0.
double psi(const std::vector<double>& reference, const std::vector<double>& current, double smoothing);

// The one PSI kernel every figure uses (psi() above, the Monitor's per-bucket
// and per-span values). `p` holds the reference's smoothed proportions
// (smoothed_proportions), `current` k counts with total `current_total` > 0.
// Writes each cell's term (q_i - p_i) ln(q_i / p_i) to terms[0..k) when terms
// is not null, and returns their compensated sum, clamped at 0. No checks:
// callers validate counts once.
std::vector<double> smoothed_proportions(const double* counts, std::size_t k, double smoothing);
double psi_smoothed(const double* p, const double* current, std::size_t k, double current_total, double smoothing,
                    double* terms);

// Jensen-Shannon distance with base-2 logarithms (in [0, 1]); NaN when a side is empty.
double js_distance(const std::vector<double>& reference, const std::vector<double>& current);

// Hellinger distance sqrt(1/2 sum (sqrt p_i - sqrt q_i)^2) (in [0, 1]); NaN when a side is empty.
double hellinger(const std::vector<double>& reference, const std::vector<double>& current);

enum class KsMethod { automatic, exact, asymptotic };

struct KsResult {
  double statistic;
  double pvalue;
  KsMethod method;  // the method actually used
};

// Two-sided two-sample KS on sorted samples (ties handled exactly), matching
// scipy.stats.ks_2samp: 'automatic' is exact when max(n1, n2) <= 10000; exact
// falls back to asymptotic when lcm(n1, n2) is too large or the path count
// leaves the double range; asymptotic is kolmogorov_sf(d, round(n1 n2 / (n1 + n2))).
KsResult ks_two_sample(const double* a, std::size_t n1, const double* b, std::size_t n2, KsMethod method);

struct BinnedKsResult {
  double statistic;  // max |F1 - F2| over the cell edges
  double bound;      // no raw-data statistic can exceed this
  double pvalue;     // asymptotic, from `statistic` and the counts
};

// KS from two count vectors over the same ordered cells. Inside a cell both
// empirical CDFs rise monotonically from their left-edge to their right-edge
// values, so |F1 - F2| there is at most max(F1(right) - F2(left), F2(right) - F1(left)).
BinnedKsResult ks_binned(const std::vector<double>& reference, const std::vector<double>& current);

// The same statistic and bound without the p-value (NaN): O(cells).
BinnedKsResult ks_binned_statistic(const std::vector<double>& reference, const std::vector<double>& current);

// First Wasserstein distance between sorted samples (scipy.stats.wasserstein_distance).
double wasserstein(const double* a, std::size_t n1, const double* b, std::size_t n2);

struct BinnedWassersteinResult {
  double distance;  // with the mass spread uniformly inside each bin
  double bound;     // |true - distance| <= bound; +inf when a flow cell has mass
};

// From counts over cells [underflow, bins..., overflow] and the bins' edges.
BinnedWassersteinResult wasserstein_binned(const std::vector<double>& reference,
                                           const std::vector<double>& current,
                                           const std::vector<double>& edges);

struct Chi2Result {
  double statistic;
  double dof;
  double pvalue;
  double min_expected;
  std::size_t cells_below_5;  // expected counts below 5 (Cochran's rule: <= 20 % of cells)
  std::size_t cells;          // cells used (categories with a non-zero total, times 2)
  std::size_t dropped;        // categories empty on both sides, left out
};

// Chi-square test of homogeneity on the 2 x k table [reference; current],
// without continuity correction (scipy.stats.chi2_contingency(correction=False)).
// Categories empty on both sides are dropped. Throws std::invalid_argument for
// fewer than two usable categories or an empty side.
Chi2Result chi2_homogeneity(const std::vector<double>& reference, const std::vector<double>& current);

// The PSI that two samples of sizes n_reference and n_current from one
// distribution over `cells` cells exceed with probability alpha, by the
// chi-square approximation PSI * n_r n_c / (n_r + n_c) ~ chi2(cells - 1).
double psi_threshold(double n_reference, double n_current, std::size_t cells, double alpha);

}  // namespace driftline
