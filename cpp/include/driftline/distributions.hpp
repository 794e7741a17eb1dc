// driftline/distributions.hpp -- the probability functions behind the drift p-values.
//
// Accuracy (checked against scipy in tests/test_distributions.py):
//  - chi2_sf: the regularized upper incomplete gamma Q(dof/2, x/2) by series or
//    continued fraction with a log-space prefactor; ~1e-14 relative for dof up to
//    a few thousand.
//  - kolmogorov_sf(n, d): P(D_n >= d) for the one-sample two-sided KS statistic
//    with sample size n (scipy.stats.kstwo.sf), following Simard & L'Ecuyer's
//    choice of method per region: Ruben-Gambino closed forms, the Durbin matrix
//    (Marsaglia-Tsang-Wang), Pomeranz's recursion, twice the one-sided Smirnov
//    tail, or the Pelz-Good expansion -- the same regions scipy uses, so both
//    return the same approximation where an approximation is used. ~1e-10 relative.
//  - smirnov_sf(n, d): the one-sided tail P(D+_n >= d), Birnbaum-Tingey's sum
//    in long-double log space (scipy.special.smirnov, including its closed-form
//    and large-n regions).
//  - kolmogorov_limit_sf(lambda): Kolmogorov's limiting distribution
//    P(K >= lambda), K = lim sqrt(n) D_n (scipy.stats.kstwobign.sf): the
//    alternating series in exp(-2 k^2 lambda^2) for lambda >= 1, the Jacobi
//    theta form below; ~1e-15 absolute, O(1) whatever n.
//  - ks_two_sample_exact_sf(n1, n2, h): P(D >= h / lcm(n1, n2)) for two samples
//    under H0, by lattice-path counting (Hodges; Viehmann's stable recursion for
//    the complement); NaN when the computation leaves the double range.
#pragma once

#include <cstdint>

namespace driftline {

double chi2_sf(double x, double dof);
// x with chi2_sf(x, dof) == p, for p in (0, 1); std::invalid_argument otherwise.
double chi2_isf(double p, double dof);

double smirnov_sf(std::int64_t n, double d);
double kolmogorov_sf(std::int64_t n, double d);
double kolmogorov_limit_sf(double lambda);
double ks_two_sample_exact_sf(std::int64_t n1, std::int64_t n2, std::int64_t h);

}  // namespace driftline
