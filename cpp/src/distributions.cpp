#include "driftline/distributions.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace driftline {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr double kPi = 3.14159265358979323846;
constexpr double kLn2 = 0.69314718055994530942;
constexpr double kLog2Pi = 1.83787706640934548356;
constexpr double kMinLog = -708.3964185322641;  // log of the smallest normal double

double clip01(double p) { return std::min(1.0, std::max(0.0, p)); }

// ---- chi-square ---------------------------------------------------------------

// log(y^a e^-y / Gamma(a)), the prefactor shared by the series and the fraction.
// std::lgamma is not correctly rounded and differs between platforms' libms in
// the last bit, so p-values built on it agree across machines to 1e-12 relative,
// not bit for bit (README, Portability; .ci/cpp-tests compares them so).
double log_gamma_prefactor(double a, double y) { return a * std::log(y) - y - std::lgamma(a); }

// Lower regularized gamma P(a, y) by its power series (converges for any y,
// quickly for y < a + 1).
double gamma_p_series(double a, double y) {
  double term = 1.0 / a;
  double sum = term;
  for (int k = 1; k < 100000; ++k) {
    term *= y / (a + k);
    sum += term;
    if (std::fabs(term) < std::fabs(sum) * kEps * 0.5) break;
  }
  return sum * std::exp(log_gamma_prefactor(a, y));
}

// Upper regularized gamma Q(a, y) by its continued fraction (modified Lentz),
// for y >= a + 1.
double gamma_q_fraction(double a, double y) {
  constexpr double tiny = 1e-300;
  double b = y + 1.0 - a;
  double c = 1.0 / tiny;
  double d = 1.0 / b;
  double h = d;
  for (int i = 1; i < 100000; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < kEps * 0.5) break;
  }
  return std::exp(log_gamma_prefactor(a, y)) * h;
}

// ---- Kolmogorov-Smirnov ---------------------------------------------------------

// log(n! / n^n) by Stirling's series (exact enough for every n >= 1).
double log_factorial_over_power(std::int64_t n) {
  if (n <= 20) {
    double v = 0.0;
    for (std::int64_t i = 1; i <= n; ++i) v += std::log(double(i) / double(n));
    return v;
  }
  const double x = double(n);
  const double r = 1.0 / x;
  const double r2 = r * r;
  // B_2k / (2k (2k-1)) coefficients: 1/12, -1/360, 1/1260, -1/1680, 1/1188
  const double series = r * (1.0 / 12 + r2 * (-1.0 / 360 + r2 * (1.0 / 1260 + r2 * (-1.0 / 1680 + r2 / 1188))));
  return 0.5 * std::log(x) - x + 0.5 * kLog2Pi + series;
}

// P(D_n <= d) by the Durbin matrix: the (k, k) entry of H^n times n!/n^n,
// with H of size 2k-1 for k = ceil(n d). Scaled by powers of two as it grows.
double kolmogorov_cdf_durbin(std::int64_t n, double d) {
  const double nd = double(n) * d;
  if (d >= 1.0) return 1.0;
  if (nd <= 0.5) return 0.0;
  const int k = int(std::ceil(nd));
  const double h = k - nd;
  const int m = 2 * k - 1;
  std::vector<double> inv_factorial(std::size_t(m) + 1);
  inv_factorial[0] = 1.0;
  for (int j = 1; j <= m; ++j) inv_factorial[std::size_t(j)] = inv_factorial[std::size_t(j - 1)] / j;
  auto at = [m](std::vector<double>& a, int r, int c) -> double& {
    return a[std::size_t(r) * std::size_t(m) + std::size_t(c)];
  };
  std::vector<double> H(std::size_t(m) * std::size_t(m), 0.0);
  for (int r = 0; r < m; ++r) {
    for (int c = 1; c < m; ++c) {
      if (r - c + 1 >= 0) at(H, r, c) = inv_factorial[std::size_t(r - c + 1)];
    }
  }
  std::vector<double> edge(static_cast<std::size_t>(m));
  for (int j = 0; j < m; ++j) edge[std::size_t(j)] = (1.0 - std::pow(h, j + 1)) * inv_factorial[std::size_t(j + 1)];
  edge[std::size_t(m - 1)] =
      (1.0 + std::pow(std::max(2.0 * h - 1.0, 0.0), m) - 2.0 * std::pow(h, m)) * inv_factorial[std::size_t(m)];
  for (int r = 0; r < m; ++r) at(H, r, 0) = edge[std::size_t(r)];
  for (int c = 0; c < m; ++c) at(H, m - 1, c) = edge[std::size_t(m - 1 - c)];

  auto multiply = [m, &at](std::vector<double>& a, std::vector<double>& b) {
    std::vector<double> out(a.size(), 0.0);
    for (int r = 0; r < m; ++r) {
      for (int t = 0; t < m; ++t) {
        const double v = at(a, r, t);
        if (v == 0.0) continue;
        for (int c = 0; c < m; ++c) out[std::size_t(r) * std::size_t(m) + std::size_t(c)] += v * at(b, t, c);
      }
    }
    return out;
  };
  std::vector<double> power(std::size_t(m) * std::size_t(m), 0.0);
  for (int i = 0; i < m; ++i) at(power, i, i) = 1.0;
  int power_exp = 0, h_exp = 0;
  std::int64_t e = n;
  while (e > 0) {
    if (e & 1) {
      power = multiply(power, H);
      power_exp += h_exp;
    }
    e >>= 1;
    if (e == 0) break;
    H = multiply(H, H);
    h_exp *= 2;
    if (std::fabs(at(H, k - 1, k - 1)) > 0x1p128) {
      for (double& v : H) v = std::ldexp(v, -128);
      h_exp += 128;
    }
  }
  const double p = at(power, k - 1, k - 1);
  if (p <= 0.0) return 0.0;
  return std::exp(std::log(p) + power_exp * kLn2 + log_factorial_over_power(n));
}

// P(D_n <= d) by Pomeranz's recursion (used for n <= 140).
double kolmogorov_cdf_pomeranz(std::int64_t n_, double d) {
  const int n = int(n_);
  const double t = n * d;
  const int ll = int(std::floor(t));
  const double f = t - ll;
  const double g = std::min(f, 1.0 - f);
  const int ceilf = f > 0 ? 1 : 0;
  const int roundf = f > 0.5 ? 1 : 0;
  const int npowers = 2 * (ll + 1);
  const auto powers_size = static_cast<std::size_t>(npowers);
  std::vector<double> gpower(powers_size), twogpower(powers_size), onem2gpower(powers_size);
  gpower[0] = twogpower[0] = onem2gpower[0] = 1.0;
  for (int k = 1; k < npowers; ++k) {
    gpower[std::size_t(k)] = gpower[std::size_t(k - 1)] * (g / n) / k;
    twogpower[std::size_t(k)] = twogpower[std::size_t(k - 1)] * (2 * g / n) / k;
    onem2gpower[std::size_t(k)] = onem2gpower[std::size_t(k - 1)] * ((1 - 2 * g) / n) / k;
  }
  // Row i keeps the entries j1..j2 of the n x (2n + 2) Pomeranz matrix.
  auto bounds = [&](int i, int& j1, int& j2) {
    int a, b;
    if (i == 0) {
      a = -ll - ceilf - 1;
      b = ll + ceilf - 1;
    } else {
      const int half = (i + 1) / 2;
      if ((i + 1) % 2 == 0) {  // i odd
        if (half == n + 1) {
          a = n - ll - ceilf - 1;
          b = n + ll + ceilf - 1;
        } else {
          a = half - 1 - ll - roundf - 1;
          b = half + ll - 1 + ceilf - 1;
        }
      } else {
        a = half - 1 - ll - 1;
        b = half + ll + roundf - 1;
      }
    }
    j1 = std::max(a + 2, 0);
    j2 = std::min(b, n);
  };
  std::vector<double> previous(static_cast<std::size_t>(npowers), 0.0);
  std::vector<double> current(static_cast<std::size_t>(npowers), 0.0);
  current[0] = 1.0;
  int previous_start = 0, current_start = 0;
  int scale_exp = 0;
  int j1, j2;
  bounds(0, j1, j2);
  for (int i = 1; i < 2 * n + 2; ++i) {
    const int k1 = j1;
    std::swap(previous, current);
    std::swap(previous_start, current_start);
    std::fill(current.begin(), current.end(), 0.0);
    bounds(i, j1, j2);
    const std::vector<double>& weights =
        (i == 1 || i == 2 * n + 1) ? gpower : ((i % 2) ? twogpower : onem2gpower);
    const int span = j2 - k1 + 1;
    if (span > 0) {
      // current[j - j1] = sum_l previous[k1 + l - previous_start] * weights[(j - k1) - l]
      double largest = 0.0;
      for (int j = j1; j <= j2; ++j) {
        const int offset = j - k1;
        double acc = 0.0;
        for (int l = 0; l <= offset && l < span; ++l) {
          const int src = k1 + l - previous_start;
          if (src < 0 || src >= npowers) continue;
          acc += previous[std::size_t(src)] * weights[std::size_t(offset - l)];
        }
        current[std::size_t(j - j1)] = acc;
        largest = std::max(largest, acc);
      }
      if (largest > 0 && largest < 0x1p-128) {
        for (double& v : current) v *= 0x1p128;
        scale_exp -= 128;
      }
      current_start = previous_start + j1 - k1;
    }
  }
  double answer = current[std::size_t(n - current_start)];
  for (int k = 1; k <= n; ++k) {
    if (std::fabs(answer) > 0x1p128) {
      answer *= 0x1p-128;
      scale_exp += 128;
    }
    answer *= k;
  }
  return std::ldexp(answer, scale_exp);
}

// P(D_n <= d) by the Pelz-Good asymptotic expansion (large n).
double kolmogorov_cdf_pelz_good(std::int64_t n_, double d) {
  if (d <= 0.0) return 0.0;
  if (d >= 1.0) return 1.0;
  const double n = double(n_);
  const double z = std::sqrt(n) * d;
  const double z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
  const double qlog = -kPi * kPi / 8 / z2;
  if (qlog < kMinLog) return 0.0;
  const double q = std::exp(qlog);
  const double pi2 = kPi * kPi, pi4 = pi2 * pi2, pi6 = pi4 * pi2;
  const double k1a = -z2, k1b = pi2 / 4;
  const double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4, k2c = pi4 * (1 - 2 * z2) / 16;
  const double k3d = pi6 * (5 - 30 * z2) / 64, k3c = pi4 * (-60 * z2 + 212 * z4) / 16;
  const double k3b = pi2 * (135 * z4 - 96 * z6) / 4, k3a = -30 * z6 - 90 * std::pow(z, 8);
  double K[4] = {0, 0, 0, 0};
  const int maxk = int(std::ceil(16 * z / kPi));
  for (int k = maxk; k >= 1; --k) {
    const double m = 2.0 * k - 1, m2 = m * m, m4 = m2 * m2, m6 = m4 * m2;
    const double qpower = std::pow(q, 8.0 * k);
    const double coeffs[4] = {1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4,
                              k3a + k3b * m2 + k3c * m4 + k3d * m6};
    for (int i = 0; i < 4; ++i) K[i] = K[i] * qpower + coeffs[i];
  }
  const double sqrt2pi = std::sqrt(2 * kPi);
  const double divisors[4] = {z, 6 * z4, 72 * std::pow(z, 7), 6480 * std::pow(z, 10)};
  for (int i = 0; i < 4; ++i) K[i] = K[i] * q * sqrt2pi / divisors[i];
  const double q2 = std::exp(-pi2 / 2 / z2);
  double extra2 = 0.0, extra3 = 0.0;
  const double sqrt3z = std::sqrt(3.0) * z;
  for (int k = maxk; k >= 1; --k) {
    const double k2 = double(k) * k;
    const double qp = std::pow(q2, k2);
    extra2 += k2 * qp;
    const double kpi = kPi * k;
    extra3 += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qp;
  }
  K[2] += extra2 * pi2 * sqrt2pi / (-36 * z3);
  K[3] += extra3 * pi2 * sqrt2pi / (216 * z6);
  double sum = 0.0;
  for (int i = 0; i < 4; ++i) sum += K[i] / std::pow(n, i / 2.0);
  return sum;
}

}  // namespace

double chi2_sf(double x, double dof) {
  if (std::isnan(x) || !(dof > 0)) return std::numeric_limits<double>::quiet_NaN();
  if (x <= 0.0) return 1.0;
  if (std::isinf(x)) return 0.0;
  const double a = dof / 2.0;
  const double y = x / 2.0;
  if (y < a + 1.0) return clip01(1.0 - gamma_p_series(a, y));
  return clip01(gamma_q_fraction(a, y));
}

double chi2_isf(double p, double dof) {
  if (!(p > 0.0 && p < 1.0) || !(dof > 0)) {
    throw std::invalid_argument("chi2_isf needs p in (0, 1) and dof > 0");
  }
  double lo = 0.0, hi = std::max(1.0, dof);
  while (chi2_sf(hi, dof) > p) hi *= 2.0;
  for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (chi2_sf(mid, dof) > p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double smirnov_sf(std::int64_t n, double x) {
  if (!(n > 0 && x >= 0.0 && x <= 1.0)) return std::numeric_limits<double>::quiet_NaN();
  if (n == 1) return 1.0 - x;
  if (x == 0.0) return 1.0;
  if (x == 1.0) return 0.0;
  // long double has a 64-bit mantissa on x86-64 and 113 bits on aarch64, and
  // lgamma is not correctly rounded: this p-value agrees across machines to
  // 1e-12 relative, not bit for bit (README, Portability; .ci/cpp-tests).
  const long double nx = static_cast<long double>(n) * x;
  const long double nx_floor = std::floor(nx);
  const long double alpha = nx - nx_floor;
  const std::int64_t floor_nx = std::int64_t(nx_floor);
  if (floor_nx == 0 || (floor_nx == 1 && alpha == 0)) {  // x <= 1/n: sf = 1 - x (1 + x)^(n - 1)
    return clip01(1.0 - double(static_cast<long double>(x) * std::pow(1.0L + x, static_cast<long double>(n - 1))));
  }
  if (-2.0 * double(n) * x * x < kMinLog) return 0.0;
  if (floor_nx >= n - 1) return clip01(double(std::pow(1.0L - x, static_cast<long double>(n))));
  if (n > 1000000) {  // scipy's large-n approximation: p ~ exp(-(6nx + 1)^2 / 18n)
    const double logp = -std::pow(6.0 * double(n) * x + 1, 2) / 18.0 / double(n);
    return clip01(logp < -kLn2 ? std::exp(logp) : 1.0 - (-std::expm1(logp)));
  }
  // Birnbaum-Tingey: sf = x * sum_{v=0}^{last} C(n,v) (x + v/n)^(v-1) (1 - x - v/n)^(n-v),
  // all terms positive. Beyond the first few, the log-terms have one peak; terms
  // more than 60 nats below it cannot move a double. Small windows are summed
  // term by term. A wide window (large n) holds a smooth, bell-shaped run of
  // thousands of terms that vanish at both ends, so a trapezoid sum on a
  // coarser grid equals the unit-step sum to far below double precision
  // (Poisson summation: the error decays like exp(-2 pi^2 width^2 / step^2)).
  const long double N = static_cast<long double>(n);
  const long double X = x;
  const long double log_n_factorial = std::lgamma(N + 1);
  const std::int64_t last = n - floor_nx - (alpha == 0 ? 1 : 0);
  auto log_term = [&](std::int64_t v) -> long double {
    const long double V = static_cast<long double>(v);
    const long double low = (N - V) / N - X;  // 1 - x - v/n
    if (low <= 0) return -std::numeric_limits<long double>::infinity();
    return log_n_factorial - std::lgamma(V + 1) - std::lgamma(N - V + 1) + (V - 1) * std::log(X + V / N) +
           (N - V) * std::log(low);
  };
  // The first few terms can form their own peak (the v = 0 term carries 1/x),
  // so they are always summed one by one; beyond them the log-terms rise to a
  // single broad peak and fall, found by ternary search.
  const std::int64_t head = std::min<std::int64_t>(last + 1, 64);
  long double top = -std::numeric_limits<long double>::infinity();
  for (std::int64_t v = 0; v < head; ++v) top = std::max(top, log_term(v));
  std::int64_t peak = -1;
  if (head <= last) {
    std::int64_t lo = head, hi = last;
    while (hi - lo > 2) {
      const std::int64_t m1 = lo + (hi - lo) / 3, m2 = hi - (hi - lo) / 3;
      if (log_term(m1) < log_term(m2)) lo = m1 + 1; else hi = m2 - 1;
    }
    peak = lo;
    for (std::int64_t v = lo + 1; v <= hi; ++v) {
      if (log_term(v) > log_term(peak)) peak = v;
    }
    top = std::max(top, log_term(peak));
  }
  const long double cutoff = top - 60;
  long double sum = 0.0L;
  for (std::int64_t v = 0; v < head; ++v) sum += std::exp(log_term(v) - top);
  if (peak >= 0 && log_term(peak) >= cutoff) {
    // Window ends: the last terms above the cutoff on each side (monotone sides).
    auto find_edge = [&](std::int64_t inside, std::int64_t outside) {
      while (std::llabs(outside - inside) > 1) {
        const std::int64_t mid = inside + (outside - inside) / 2;
        (log_term(mid) >= cutoff ? inside : outside) = mid;
      }
      return inside;
    };
    const std::int64_t first = log_term(head) >= cutoff ? head : find_edge(peak, head);
    const std::int64_t end = log_term(last) >= cutoff ? last : find_edge(peak, last);
    const std::int64_t width = end - first;
    if (width <= 20000 || first == head || end == last) {
      for (std::int64_t v = std::max(head, first - 1); v <= std::min(last, end + 1); ++v) {
        sum += std::exp(log_term(v) - top);
      }
    } else {
      const std::int64_t step = std::max<std::int64_t>(1, width / 4000);
      long double coarse = 0.0L;
      for (std::int64_t v = first; v <= end + step; v += step) coarse += std::exp(log_term(v) - top);
      sum += coarse * static_cast<long double>(step);
    }
  }
  return clip01(double(X * sum * std::exp(top)));
}

double kolmogorov_limit_sf(double lambda) {
  if (std::isnan(lambda)) return std::numeric_limits<double>::quiet_NaN();
  if (lambda <= 0.0) return 1.0;
  if (lambda >= 1.0) {
    // 2 sum_{k>=1} (-1)^(k-1) exp(-2 k^2 lambda^2): terms fall by exp(-6) or more at once.
    double sum = 0.0, sign = 1.0;
    for (int k = 1; k <= 100; ++k) {
      const double term = std::exp(-2.0 * double(k) * double(k) * lambda * lambda);
      sum += sign * term;
      if (term < 1e-17 * sum) break;
      sign = -sign;
    }
    return clip01(2.0 * sum);
  }
  // 1 - sqrt(2 pi) / lambda sum_{k>=1} exp(-(2k - 1)^2 pi^2 / (8 lambda^2)), fast for small lambda.
  const double pi = 3.14159265358979323846;
  const double c = -pi * pi / (8.0 * lambda * lambda);
  double sum = 0.0;
  for (int k = 1; k <= 100; ++k) {
    const double odd = double(2 * k - 1);
    const double term = std::exp(c * odd * odd);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return clip01(1.0 - std::sqrt(2.0 * pi) / lambda * sum);
}

double kolmogorov_sf(std::int64_t n, double x) {
  if (n <= 0 || std::isnan(x)) return std::numeric_limits<double>::quiet_NaN();
  if (x >= 1.0) return 0.0;
  if (x <= 0.0) return 1.0;
  const double t = double(n) * x;
  if (t <= 1.0) {  // Ruben-Gambino: P(D_n <= x) = n!/n^n (2t - 1)^n for 1/2n <= x <= 1/n
    if (t <= 0.5) return 1.0;
    double cdf;
    if (n <= 140) {
      cdf = 1.0;
      for (std::int64_t i = 1; i <= n; ++i) cdf *= double(i) * (1.0 / double(n)) * (2 * t - 1);
    } else {
      cdf = std::exp(log_factorial_over_power(n) + double(n) * std::log(2 * t - 1));
    }
    return clip01(1.0 - cdf);
  }
  if (t >= double(n) - 1) return clip01(2 * std::pow(1.0 - x, double(n)));  // Ruben-Gambino
  if (x >= 0.5) return clip01(2 * smirnov_sf(n, x));
  const double nxx = t * x;
  if (n <= 140) {
    if (nxx <= 0.754693) return clip01(1.0 - clip01(kolmogorov_cdf_durbin(n, x)));
    if (nxx <= 4) return clip01(1.0 - clip01(kolmogorov_cdf_pomeranz(n, x)));
    return clip01(2 * smirnov_sf(n, x));
  }
  if (nxx >= 370.0) return 0.0;
  if (nxx >= 2.2) return clip01(2 * smirnov_sf(n, x));
  double cdf;
  if (n <= 100000 && double(n) * std::pow(x, 1.5) <= 1.4) {
    cdf = kolmogorov_cdf_durbin(n, x);
  } else {
    cdf = kolmogorov_cdf_pelz_good(n, x);
  }
  return clip01(1.0 - clip01(cdf));
}

double ks_two_sample_exact_sf(std::int64_t n1, std::int64_t n2, std::int64_t h) {
  if (h <= 0) return 1.0;
  if (n1 == n2) {
    // Paths leaving the band |x - y| < h, by reflection (Hodges): an
    // alternating sum evaluated from the innermost term outwards.
    const std::int64_t n = n1;
    double P = 0.0;
    for (std::int64_t k = n / h; k >= 0; --k) {
      double p1 = 1.0;
      for (std::int64_t j = 0; j < h; ++j) p1 = double(n - k * h - j) * p1 / double(n + k * h + j + 1);
      P = p1 * (1.0 - P);
    }
    return 2 * P;
  }
  // Inside method for the complement (Viehmann): A(x, y) counts, as a fraction
  // of all paths, the lattice paths to (x, y) that have already left the band
  // |x/m - y/n| < h/lcm; one sliding column of A is kept.
  std::int64_t m = n1, n = n2;
  if (m < n) std::swap(m, n);
  const std::int64_t g = std::gcd(m, n);
  const std::int64_t mg = m / g, ng = n / g;
  std::int64_t min_j = 0;
  std::int64_t max_j = std::min<std::int64_t>(std::int64_t(std::ceil(double(h) / double(mg))), n + 1);
  std::int64_t cur_len = max_j - min_j;
  const std::int64_t len = std::min(2 * max_j + 2, n + 1);
  std::vector<double> A(std::size_t(len), 1.0);
  for (std::int64_t j = min_j; j < max_j; ++j) A[std::size_t(j)] = 0.0;
  for (std::int64_t i = 1; i <= m; ++i) {
    const std::int64_t last_min = min_j, last_len = cur_len;
    min_j = std::max<std::int64_t>(std::int64_t(std::floor(double(ng * i - h) / double(mg))) + 1, 0);
    min_j = std::min(min_j, n);
    max_j = std::min<std::int64_t>(std::int64_t(std::ceil(double(ng * i + h) / double(mg))), n + 1);
    if (max_j <= min_j) return 1.0;
    double val = min_j == 0 ? 0.0 : 1.0;
    for (std::int64_t jj = 0; jj < max_j - min_j; ++jj) {
      const std::int64_t j = jj + min_j;
      val = (A[std::size_t(jj + min_j - last_min)] * double(i) + val * double(j)) / double(i + j);
      A[std::size_t(jj)] = val;
    }
    cur_len = max_j - min_j;
    if (last_len > cur_len) {
      for (std::int64_t t = cur_len; t < cur_len + (last_len - cur_len) && t < len; ++t) A[std::size_t(t)] = 1.0;
    }
  }
  return A[std::size_t(max_j - min_j - 1)];
}

}  // namespace driftline
