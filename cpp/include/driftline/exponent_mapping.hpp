// driftline/exponent_mapping.hpp -- OpenTelemetry's base-2 exponential bucket
// index for positive doubles, exact and without log().
#pragma once

#include <cstdint>
#include <vector>

#include "driftline/kernels.hpp"

namespace driftline {

// ExponentMapping: at scale s, base = 2^(2^-s) and bucket i holds the values in
// (base^i, base^(i+1)] (the OpenTelemetry exponential-histogram definition).
//
// index() is exact for every positive finite double, subnormals included:
//  - scale <= 0: from the exponent bits alone (exact powers of two, whose
//    mantissa is zero, belong to the bucket below, as the definition says);
//  - scale > 0: the exponent gives the binade, and the mantissa's top s+1 bits
//    pick a sub-interval of [1, 2) that holds at most one of the 2^s interior
//    boundaries 2^(k/2^s); one comparison against that boundary settles it.
//    The boundaries are irrational (k > 0), so no double equals one; each is
//    stored as the least double above it, computed in double-double arithmetic
//    (about 100 correct bits) and checked to be unambiguous when the table is built.
//
// Representative value of bucket i: 2·L·U / (L + U) for L = base^i, U = base^(i+1),
// whose relative distance to any value in (L, U] is at most (base - 1) / (base + 1),
// the mapping's relative_error(). (For subnormal values the float64 grid itself
// limits the accuracy.)
//
// Thread safety: instances are immutable and cached per scale; at() is thread-safe.
// Memory: 12 * 2^s bytes of tables for s > 0 (384 KiB at the maximum scale 14).
class ExponentMapping {
 public:
  static constexpr int min_scale = -10;
  static constexpr int max_scale = 14;

  // The cached mapping for a scale in [min_scale, max_scale]; throws std::invalid_argument.
  static const ExponentMapping& at(int scale);
  // The coarsest scale whose relative_error() is at most `accuracy`, which must be
  // in (0, 1) and at least the finest scale's error; throws std::invalid_argument.
  static int scale_for_accuracy(double accuracy);
  static double relative_error_at(int scale);

  int scale() const noexcept { return scale_; }
  double relative_error() const noexcept { return relative_error_at(scale_); }

  // Index of a positive finite value (undefined result, but no UB, otherwise).
  std::int32_t index(double positive) const noexcept;
  // base^i and base^(i+1), to double precision (0 or inf past the double range).
  double lower_bound(std::int32_t i) const noexcept;
  double upper_bound(std::int32_t i) const noexcept { return lower_bound(i + 1); }
  double representative(std::int32_t i) const noexcept;

  // Indices of the smallest subnormal and of the largest finite double.
  std::int32_t min_index() const noexcept;
  std::int32_t max_index() const noexcept;

  // Tables for the kernels (scale > 0): first_boundary[t] is the number of
  // boundaries at or below the start of sub-interval t (of 2^(s+1));
  // thresholds[k] is the least double above 2^(k/2^s) for k < 2^s, then +inf.
  const std::uint32_t* first_boundary() const noexcept { return first_boundary_.data(); }
  const double* thresholds() const noexcept { return thresholds_.data(); }

  // For vector kernels that avoid table gathers (scale > 0): a degree-10
  // polynomial in u = 2m - 3 (m in [1, 2)) approximating 2^s * log2(m) to
  // within 2^s * 1.4e-9 (checked when built). A kernel may take
  // ceil(p(u)) - 1 as the in-binade index when p(u) lies more than
  // log2_tolerance() from an integer, and must use the exact tables otherwise.
  static constexpr int log2_degree = kLog2PolynomialDegree;
  const double* log2_coefficients() const noexcept { return log2_coefficients_.data(); }
  double log2_tolerance() const noexcept { return log2_tolerance_; }

 private:
  explicit ExponentMapping(int scale);

  int scale_;
  std::vector<std::uint32_t> first_boundary_;
  std::vector<double> thresholds_;
  std::vector<double> log2_coefficients_;  // lowest degree first
  double log2_tolerance_ = 0.5;
};

}  // namespace driftline
