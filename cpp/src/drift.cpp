#include "driftline/drift.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "driftline/distributions.hpp"

namespace driftline {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Validates a pair of count vectors and returns their totals.
std::pair<double, double> check_counts(const std::vector<double>& r, const std::vector<double>& c) {
  if (r.size() != c.size()) {
    throw std::invalid_argument("reference and current need the same number of cells, got " +
                                std::to_string(r.size()) + " and " + std::to_string(c.size()));
  }
  if (r.empty()) throw std::invalid_argument("need at least one cell");
  double rt = 0.0, ct = 0.0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (!(r[i] >= 0.0) || !std::isfinite(r[i]) || !(c[i] >= 0.0) || !std::isfinite(c[i])) {
      throw std::invalid_argument("counts must be finite and non-negative; cell " + std::to_string(i) +
                                  " has " + std::to_string(r[i]) + " and " + std::to_string(c[i]));
    }
    rt += r[i];
    ct += c[i];
  }
  return {rt, ct};
}

// x log(x / y) with the conventions of scipy.special.rel_entr.
double rel_entr(double x, double y) {
  if (x > 0 && y > 0) return x * std::log(x / y);
  if (x == 0 && y >= 0) return 0.0;
  return std::numeric_limits<double>::infinity();
}

// Neumaier's compensated sum: the result does not depend much on term order.
struct CompensatedSum {
  double sum = 0.0, compensation = 0.0;
  void add(double v) {
    const double t = sum + v;
    compensation += std::fabs(sum) >= std::fabs(v) ? (sum - t) + v : (v - t) + sum;
    sum = t;
  }
  double value() const { return sum + compensation; }
};

}  // namespace

std::vector<double> smoothed_proportions(const double* counts, std::size_t k, double smoothing) {
  double total = 0.0;
  for (std::size_t i = 0; i < k; ++i) total += counts[i];
  const double den = total + double(k) * smoothing;
  std::vector<double> p(k);
  for (std::size_t i = 0; i < k; ++i) p[i] = (counts[i] + smoothing) / den;
  return p;
}

double psi_smoothed(const double* p, const double* current, std::size_t k, double current_total, double smoothing,
                    double* terms) {
  const double den = current_total + double(k) * smoothing;
  CompensatedSum total;
  for (std::size_t i = 0; i < k; ++i) {
    const double q = (current[i] + smoothing) / den;
    const double term = (q - p[i]) * std::log(q / p[i]);
    if (terms != nullptr) terms[i] = term;
    total.add(term);
  }
  return std::max(0.0, total.value());
}

double psi(const std::vector<double>& reference, const std::vector<double>& current, double smoothing) {
  if (!(smoothing > 0.0) || !std::isfinite(smoothing)) {
    throw std::invalid_argument("smoothing must be a positive pseudo-count, got " + std::to_string(smoothing));
  }
  const auto [rt, ct] = check_counts(reference, current);
  if (rt == 0.0 || ct == 0.0) return kNaN;
  const std::vector<double> p = smoothed_proportions(reference.data(), reference.size(), smoothing);
  return psi_smoothed(p.data(), current.data(), current.size(), ct, smoothing, nullptr);
}

double js_distance(const std::vector<double>& reference, const std::vector<double>& current) {
  const auto [rt, ct] = check_counts(reference, current);
  if (rt == 0.0 || ct == 0.0) return kNaN;
  double js = 0.0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    const double p = reference[i] / rt, q = current[i] / ct;
    const double m = (p + q) / 2.0;
    js += rel_entr(p, m) + rel_entr(q, m);
  }
  js = js / 2.0 / std::log(2.0);
  return std::sqrt(std::max(0.0, js));
}

double hellinger(const std::vector<double>& reference, const std::vector<double>& current) {
  const auto [rt, ct] = check_counts(reference, current);
  if (rt == 0.0 || ct == 0.0) return kNaN;
  double sum = 0.0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    const double d = std::sqrt(reference[i] / rt) - std::sqrt(current[i] / ct);
    sum += d * d;
  }
  return std::sqrt(sum) / std::sqrt(2.0);
}

KsResult ks_two_sample(const double* a, std::size_t n1, const double* b, std::size_t n2, KsMethod method) {
  if (n1 == 0 || n2 == 0) throw std::invalid_argument("KS needs two non-empty samples");
  // Walk the merge of both sorted samples; at each distinct value, after
  // consuming every copy on both sides, the ECDF difference is
  // K / (n1 n2) with the integer K = i n2 - j n1. scipy reports the largest
  // *floating-point* value of i/n1 - j/n2, so that value is computed (two
  // divisions) wherever K reaches its running extreme; elsewhere the walk only
  // adds integers. Exact differences of distinct K are >= 1/(n1 n2), more than
  // the 3.3e-16 rounding of the float expression while n1 n2 < 1.4e15, so no
  // smaller K can hold the float maximum; beyond that every point is evaluated.
  // The merge step is branch-free (which sample holds the next value is a coin
  // flip for similar samples). The final point (n1, n2) has difference 0.
  const double dn1 = double(n1), dn2 = double(n2);
  const bool every_point = dn1 * dn2 >= 1.4e15;
  const auto step_i = std::int64_t(n2), step_j = std::int64_t(n1);
  std::int64_t k = 0, max_k = 0, min_k = 0;
  double max_diff = 0.0, min_diff = 0.0;
  std::size_t i = 0, j = 0;
  auto visit = [&]() {
    if (k >= max_k || every_point) {
      const double diff = double(i) / dn1 - double(j) / dn2;
      max_diff = (k > max_k && !every_point) ? diff : std::max(max_diff, diff);
      max_k = std::max(max_k, k);
    }
    if (k <= min_k || every_point) {
      const double diff = double(i) / dn1 - double(j) / dn2;
      min_diff = (k < min_k && !every_point) ? diff : std::min(min_diff, diff);
      min_k = std::min(min_k, k);
    }
  };
  while (i < n1 && j < n2) {
    const double x = a[i], y = b[j];
    // Arithmetic, not branches: the compiler must not turn this into a jump.
    const auto take_a = static_cast<std::size_t>(x <= y);
    const double v = std::min(x, y);
    i += take_a;
    j += take_a ^ 1u;
    k += std::int64_t(take_a) * (step_i + step_j) - step_j;
    if (i == n1 || j == n2) {
      // Finish this value's ties on the side that still has values; the tail follows.
      while (i < n1 && a[i] == v) { ++i; k += step_i; }
      while (j < n2 && b[j] == v) { ++j; k -= step_j; }
      visit();
      break;
    }
    if (std::min(a[i], b[j]) != v) visit();
  }
  // One sample is exhausted: the rest only moves the other ECDF.
  while (i < n1 || j < n2) {
    const double v = i < n1 ? a[i] : b[j];
    while (i < n1 && a[i] == v) { ++i; k += step_i; }
    while (j < n2 && b[j] == v) { ++j; k -= step_j; }
    visit();
  }
  const double min_s = std::min(1.0, std::max(0.0, -min_diff));
  double d = min_s > max_diff ? min_s : max_diff;

  const std::int64_t N1 = std::int64_t(n1), N2 = std::int64_t(n2);
  const std::int64_t g = std::gcd(N1, N2);
  KsMethod used = method;
  if (used == KsMethod::automatic) used = std::max(n1, n2) <= 10000 ? KsMethod::exact : KsMethod::asymptotic;
  if (used == KsMethod::exact && double(N1 / g) >= double(std::numeric_limits<std::int32_t>::max()) / double(N2 / g)) {
    used = KsMethod::asymptotic;
  }
  double p = kNaN;
  if (used == KsMethod::exact) {
    const std::int64_t lcm = (N1 / g) * N2;
    const std::int64_t h = std::int64_t(std::nearbyint(d * double(lcm)));
    const double d_exact = double(h) / double(lcm);
    const double prob = ks_two_sample_exact_sf(N1, N2, h);
    if (std::isfinite(prob) && prob >= 0.0 && prob <= 1.0) {
      d = d_exact;
      p = prob;
    } else {
      used = KsMethod::asymptotic;
    }
  }
  if (used == KsMethod::asymptotic) {
    const double m = double(std::max(N1, N2)), n = double(std::min(N1, N2));
    const double en = m * n / (m + n);
    p = kolmogorov_sf(std::int64_t(std::nearbyint(en)), d);
  }
  // NaN stays NaN (the asymptotic distribution is undefined below one effective sample).
  return {d, std::isnan(p) ? p : std::min(1.0, std::max(0.0, p)), used};
}

BinnedKsResult ks_binned_statistic(const std::vector<double>& reference, const std::vector<double>& current) {
  const auto [rt, ct] = check_counts(reference, current);
  if (rt == 0.0 || ct == 0.0) return {kNaN, kNaN, kNaN};
  double f1 = 0.0, f2 = 0.0, statistic = 0.0, bound = 0.0;
  double c1 = 0.0, c2 = 0.0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    const double left1 = f1, left2 = f2;
    c1 += reference[i];
    c2 += current[i];
    f1 = c1 / rt;
    f2 = c2 / ct;
    statistic = std::max(statistic, std::fabs(f1 - f2));
    bound = std::max(bound, std::max(f1 - left2, f2 - left1));
  }
  return {statistic, bound, kNaN};  // bound >= statistic: left edges never exceed right ones
}

BinnedKsResult ks_binned(const std::vector<double>& reference, const std::vector<double>& current) {
  BinnedKsResult r = ks_binned_statistic(reference, current);
  if (std::isnan(r.statistic)) return r;
  double rt = 0.0, ct = 0.0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    rt += reference[i];
    ct += current[i];
  }
  const double m = std::max(rt, ct), n = std::min(rt, ct);
  r.pvalue = kolmogorov_sf(std::int64_t(std::nearbyint(m * n / (m + n))), r.statistic);
  return r;
}

double wasserstein(const double* a, std::size_t n1, const double* b, std::size_t n2) {
  if (n1 == 0 || n2 == 0) throw std::invalid_argument("Wasserstein needs two non-empty samples");
  // Integral of |F1 - F2| over the merged sorted values.
  CompensatedSum total;
  std::size_t i = 0, j = 0;
  double previous = 0.0;
  bool started = false;
  while (i < n1 || j < n2) {
    const double v = (j >= n2 || (i < n1 && a[i] <= b[j])) ? a[i] : b[j];
    if (started) {
      const double diff = std::fabs(double(i) / double(n1) - double(j) / double(n2));
      total.add(diff * (v - previous));
    }
    while (i < n1 && a[i] == v) ++i;
    while (j < n2 && b[j] == v) ++j;
    previous = v;
    started = true;
  }
  return total.value();
}

BinnedWassersteinResult wasserstein_binned(const std::vector<double>& reference,
                                           const std::vector<double>& current,
                                           const std::vector<double>& edges) {
  const auto [rt, ct] = check_counts(reference, current);
  if (edges.size() + 1 != reference.size()) {
    throw std::invalid_argument("counts must cover underflow, the bins and overflow: " +
                                std::to_string(edges.size() + 1) + " cells, got " +
                                std::to_string(reference.size()));
  }
  if (rt == 0.0 || ct == 0.0) return {kNaN, kNaN};
  const std::size_t cells = reference.size();
  const bool flows = reference[0] + current[0] + reference[cells - 1] + current[cells - 1] > 0;
  // F at the left edge of bin b is the mass below edges[b].
  double f1 = reference[0] / rt, f2 = current[0] / ct;
  CompensatedSum distance, bound;
  for (std::size_t b = 0; b + 1 < edges.size(); ++b) {
    const double width = edges[b + 1] - edges[b];
    const double g1 = f1 + reference[b + 1] / rt, g2 = f2 + current[b + 1] / ct;
    // Linear CDFs inside the bin: integrate |(f1 - f2) + t ((g1 - g2) - (f1 - f2))| over t in [0, 1].
    const double u = f1 - f2, w = g1 - g2;
    double integral;
    if ((u >= 0) == (w >= 0)) {
      integral = 0.5 * std::fabs(u + w);
    } else {
      integral = 0.5 * (u * u + w * w) / (std::fabs(u) + std::fabs(w));
    }
    distance.add(width * integral);
    // Inside the bin the true CDFs are monotone between those edge values, so
    // |F1 - F2| lies in [lowest, highest]; so does the linear estimate's.
    const double highest = std::max(g1 - f2, g2 - f1);
    const double lowest = std::max(0.0, std::max(f1 - g2, f2 - g1));
    bound.add(width * (highest - lowest));
    f1 = g1;
    f2 = g2;
  }
  return {distance.value(), flows ? std::numeric_limits<double>::infinity() : bound.value()};
}

Chi2Result chi2_homogeneity(const std::vector<double>& reference, const std::vector<double>& current) {
  const auto [rt, ct] = check_counts(reference, current);
  if (rt == 0.0 || ct == 0.0) throw std::invalid_argument("chi-square needs counts on both sides");
  std::vector<std::size_t> used;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    if (reference[i] + current[i] > 0) used.push_back(i);
  }
  if (used.size() < 2) throw std::invalid_argument("chi-square needs at least two non-empty categories");
  const double total = rt + ct;
  Chi2Result r{};
  r.min_expected = std::numeric_limits<double>::infinity();
  CompensatedSum stat;
  for (std::size_t i : used) {
    const double column = reference[i] + current[i];
    const double observed[2] = {reference[i], current[i]};
    const double rows[2] = {rt, ct};
    for (int s = 0; s < 2; ++s) {
      const double expected = rows[s] * column / total;
      const double diff = observed[s] - expected;
      stat.add(diff * diff / expected);
      r.min_expected = std::min(r.min_expected, expected);
      r.cells_below_5 += expected < 5.0 ? 1 : 0;
    }
  }
  r.statistic = stat.value();
  r.dof = double(used.size() - 1);
  r.pvalue = chi2_sf(r.statistic, r.dof);
  r.cells = 2 * used.size();
  r.dropped = reference.size() - used.size();
  return r;
}

double psi_threshold(double n_reference, double n_current, std::size_t cells, double alpha) {
  if (!(n_reference > 0) || !(n_current > 0) || !std::isfinite(n_reference) || !std::isfinite(n_current)) {
    throw std::invalid_argument("sample sizes must be positive and finite");
  }
  if (cells < 2) throw std::invalid_argument("psi_threshold needs at least 2 cells, got " + std::to_string(cells));
  if (!(alpha > 0 && alpha < 1)) throw std::invalid_argument("alpha must be in (0, 1), got " + std::to_string(alpha));
  return chi2_isf(alpha, double(cells - 1)) * (1.0 / n_reference + 1.0 / n_current);
}

}  // namespace driftline
