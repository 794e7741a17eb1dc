// driftline/order_statistics.hpp -- exact quantiles of a reference sample without sorting it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "driftline/quantile_sketch.hpp"

namespace driftline {

// numpy.quantile(v, qs) (method "linear", numpy >= 2.0 arithmetic: virtual
// index (n - 1) * q, neighbours floor and floor + 1, numpy's two-sided lerp),
// bit for bit, where v are the finite values of x[0..n) and `sketch` holds
// exactly the values of x (NaN and infinities are skipped, as the sketch counts
// them apart). Also, per quantile, how many values of v equal it (0 for a
// value interpolated between two different neighbours).
//
// How: the needed order statistics (ranks floor and floor + 1 of each virtual
// index) are bracketed by the sketch's buckets (QuantileSketch::rank_bracket);
// one pass over x counts the values below each bracket and copies the values
// inside the brackets (a few percent of x at the default 1 % accuracy); the
// order statistics are selected inside those copies (nth_element). If a
// bracket does not hold its rank (inconsistent input), it selects over a copy
// of all values instead, so the result is exact either way.
//
// Cost: O(n) plus O(values in the brackets); memory: the bracket copies.
// Thread safety: pure function (the sketch is read under its own lock).
// Throws std::invalid_argument when v is empty or a q is outside [0, 1].
struct ReferenceQuantiles {
  std::vector<double> values;
  std::vector<std::uint64_t> equal;  // how many of v equal values[k]
};
ReferenceQuantiles linear_quantiles(const double* x, std::size_t n, const QuantileSketch& sketch,
                                    const std::vector<double>& qs);

}  // namespace driftline
