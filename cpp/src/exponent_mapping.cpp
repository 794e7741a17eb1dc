#include "driftline/exponent_mapping.hpp"

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

namespace driftline {
namespace {

// --- double-double arithmetic (value = hi + lo, |lo| <= ulp(hi) / 2) ---------
struct DoubleDouble {
  double hi;
  double lo;
};

DoubleDouble quick_two_sum(double a, double b) {
  const double s = a + b;
  return {s, b - (s - a)};
}

DoubleDouble multiply(DoubleDouble a, DoubleDouble b) {
  const double p = a.hi * b.hi;
  const double e = std::fma(a.hi, b.hi, -p);  // exact error of the product
  return quick_two_sum(p, e + (a.hi * b.lo + a.lo * b.hi));
}

DoubleDouble square_root(DoubleDouble a) {
  const double x = std::sqrt(a.hi);
  // One Newton step in double-double: x + (a - x^2) / (2x).
  const double residual = (std::fma(-x, x, a.hi)) + a.lo;
  return quick_two_sum(x, residual / (2.0 * x));
}

// Monomial coefficients (in u on [-1, 1], lowest first) of the polynomial
// interpolating log2(1.5 + u / 2) at the Chebyshev nodes of degree `degree`.
std::vector<double> log2_interpolant(int degree) {
  const int n = degree + 1;
  const double pi = std::acos(-1.0);
  // Chebyshev coefficients c_j = (2/n) sum_k f(x_k) T_j(x_k).
  std::vector<double> cheb(std::size_t(n), 0.0);
  for (int k = 0; k < n; ++k) {
    const double x = std::cos((2.0 * k + 1.0) * pi / (2.0 * n));
    const double f = std::log2(1.5 + 0.5 * x);
    for (int j = 0; j < n; ++j) cheb[std::size_t(j)] += f * std::cos(j * (2.0 * k + 1.0) * pi / (2.0 * n));
  }
  for (int j = 0; j < n; ++j) cheb[std::size_t(j)] *= (j == 0 ? 1.0 : 2.0) / n;
  // Sum c_j T_j(u) into monomials using T_{j+1} = 2u T_j - T_{j-1}.
  std::vector<double> result(std::size_t(n), 0.0), t_prev(std::size_t(n), 0.0), t_cur(std::size_t(n), 0.0);
  t_prev[0] = 1.0;  // T_0
  if (n > 1) t_cur[1] = 1.0;  // T_1
  for (int i = 0; i < n; ++i) result[std::size_t(i)] += cheb[0] * t_prev[std::size_t(i)];
  for (int j = 1; j < n; ++j) {
    for (int i = 0; i < n; ++i) result[std::size_t(i)] += cheb[std::size_t(j)] * t_cur[std::size_t(i)];
    std::vector<double> next(std::size_t(n), 0.0);
    for (int i = 0; i + 1 < n; ++i) next[std::size_t(i + 1)] += 2.0 * t_cur[std::size_t(i)];
    for (int i = 0; i < n; ++i) next[std::size_t(i)] -= t_prev[std::size_t(i)];
    t_prev.swap(t_cur);
    t_cur.swap(next);
  }
  return result;
}

std::uint64_t bits_of(double v) {
  std::uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

constexpr std::uint64_t kMantissaMask = (std::uint64_t(1) << 52) - 1;

}  // namespace

double ExponentMapping::relative_error_at(int scale) {
  const double base = std::exp2(std::ldexp(1.0, -scale));
  return std::isinf(base) ? 1.0 : (base - 1.0) / (base + 1.0);
}

int ExponentMapping::scale_for_accuracy(double accuracy) {
  if (!(accuracy > 0.0 && accuracy < 1.0)) {
    throw std::invalid_argument("relative_accuracy must be in (0, 1), got " + std::to_string(accuracy));
  }
  for (int s = min_scale; s <= max_scale; ++s) {
    if (relative_error_at(s) <= accuracy) return s;
  }
  throw std::invalid_argument("relative_accuracy " + std::to_string(accuracy) +
                              " is finer than the finest supported scale " +
                              std::to_string(max_scale) + " (relative error " +
                              std::to_string(relative_error_at(max_scale)) + ")");
}

const ExponentMapping& ExponentMapping::at(int scale) {
  if (scale < min_scale || scale > max_scale) {
    throw std::invalid_argument("scale must be between " + std::to_string(min_scale) + " and " +
                                std::to_string(max_scale) + ", got " + std::to_string(scale));
  }
  static std::array<std::unique_ptr<ExponentMapping>, max_scale - min_scale + 1> cache;
  static std::array<std::once_flag, max_scale - min_scale + 1> once;
  const auto slot = std::size_t(scale - min_scale);
  std::call_once(once[slot], [&] { cache[slot].reset(new ExponentMapping(scale)); });
  return *cache[slot];
}

ExponentMapping::ExponentMapping(int scale) : scale_(scale) {
  if (scale <= 0) return;
  const std::uint32_t boundaries = 1u << scale;
  // roots[j] = 2^(2^j / 2^s), from s - j square roots of 2 in double-double.
  std::vector<DoubleDouble> roots(static_cast<std::size_t>(scale));
  for (int j = 0; j < scale; ++j) {
    DoubleDouble r{2.0, 0.0};
    for (int k = 0; k < scale - j; ++k) r = square_root(r);
    roots[std::size_t(j)] = r;
  }
  thresholds_.resize(std::size_t(boundaries) + 1);
  thresholds_[0] = std::nextafter(1.0, 2.0);  // boundary 2^0 = 1 is exact; values above it
  for (std::uint32_t k = 1; k < boundaries; ++k) {
    DoubleDouble b{1.0, 0.0};
    for (int j = 0; j < scale; ++j) {
      if (k & (1u << j)) b = multiply(b, roots[std::size_t(j)]);
    }
    // The true boundary is irrational; b approximates it to ~2^-100 relative.
    // Its least double above is hi when lo < 0 and next(hi) when lo > 0.
    if (std::fabs(b.lo) < std::ldexp(b.hi, -96)) {
      throw std::logic_error("exponent mapping boundary too close to a double to round safely");
    }
    thresholds_[k] = b.lo > 0.0 ? std::nextafter(b.hi, 2.0) : b.hi;
  }
  thresholds_[boundaries] = std::numeric_limits<double>::infinity();
  // The gather-free polynomial path: verify its error on a fine grid, then
  // scale it by 2^s. The tolerance leaves a 10x margin over the bound.
  std::vector<double> coefficients = log2_interpolant(log2_degree);
  double worst = 0.0;
  for (int i = 0; i <= 1 << 16; ++i) {
    const double u = -1.0 + std::ldexp(double(i), -15);
    double p = 0.0;
    for (int j = log2_degree; j >= 0; --j) p = std::fma(p, u, coefficients[std::size_t(j)]);
    worst = std::max(worst, std::fabs(p - std::log2(1.5 + 0.5 * u)));
  }
  if (worst > 1.5e-9) throw std::logic_error("log2 interpolant less accurate than documented");
  for (double& c : coefficients) c = std::ldexp(c, scale);
  log2_coefficients_ = std::move(coefficients);
  log2_tolerance_ = std::ldexp(1.5e-8, scale);
  // Sub-interval t covers [1 + t / 2^(s+1), 1 + (t+1) / 2^(s+1)); neighbouring
  // boundaries are at least ln(2) / 2^s apart, more than one sub-interval.
  const std::uint32_t intervals = boundaries * 2;
  first_boundary_.resize(intervals);
  std::uint32_t k = 0;
  for (std::uint32_t t = 0; t < intervals; ++t) {
    const double start = 1.0 + std::ldexp(double(t), -(scale + 1));
    while (k < boundaries && thresholds_[k] <= start) ++k;
    first_boundary_[t] = k;
  }
}

std::int32_t ExponentMapping::index(double positive) const noexcept {
  std::uint64_t bits = bits_of(positive) & ~(std::uint64_t(1) << 63);
  std::int32_t exponent;
  if ((bits >> 52) == 0) {  // subnormal: scale up exactly by 2^52 first
    bits = bits_of(positive * 0x1p52);
    exponent = std::int32_t(bits >> 52) - 1023 - 52;
  } else {
    exponent = std::int32_t(bits >> 52) - 1023;
  }
  const std::uint64_t mantissa = bits & kMantissaMask;
  if (scale_ <= 0) {
    const std::int32_t at_zero = exponent - (mantissa == 0 ? 1 : 0);
    return at_zero >> -scale_;  // arithmetic shift: floor division by 2^-scale
  }
  const std::uint32_t t = std::uint32_t(mantissa >> (52 - (scale_ + 1)));
  const std::uint32_t k = first_boundary_[t];
  double m;
  const std::uint64_t m_bits = mantissa | 0x3FF0000000000000ull;
  std::memcpy(&m, &m_bits, sizeof m);
  const std::int32_t count = std::int32_t(k) + (m >= thresholds_[k] ? 1 : 0);
  return exponent * (std::int32_t(1) << scale_) + count - 1;
}

double ExponentMapping::lower_bound(std::int32_t i) const noexcept {
  if (scale_ <= 0) {
    const double e = std::ldexp(double(i), -scale_);  // i * 2^-scale, exact
    if (e > 2000) return std::numeric_limits<double>::infinity();
    if (e < -2000) return 0.0;
    return std::ldexp(1.0, int(e));
  }
  const std::int32_t per_binade = std::int32_t(1) << scale_;
  // floor division so the fraction is in [0, 1)
  std::int32_t binade = i / per_binade;
  std::int32_t k = i % per_binade;
  if (k < 0) {
    k += per_binade;
    binade -= 1;
  }
  return std::ldexp(std::exp2(std::ldexp(double(k), -scale_)), binade);
}

double ExponentMapping::representative(std::int32_t i) const noexcept {
  // 2LU / (L + U) = L * 2 / (1 + 1/base), computed without forming U (which may overflow).
  const double inverse_base = std::exp2(-std::ldexp(1.0, -scale_));
  return lower_bound(i) * (2.0 / (1.0 + inverse_base));
}

std::int32_t ExponentMapping::min_index() const noexcept {
  return index(std::numeric_limits<double>::denorm_min());
}

std::int32_t ExponentMapping::max_index() const noexcept {
  return index(std::numeric_limits<double>::max());
}

}  // namespace driftline
