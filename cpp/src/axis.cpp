#include "driftline/axis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>

namespace driftline {
namespace {

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  // Prefer the shortest representation that round-trips.
  for (int precision = 1; precision < 17; ++precision) {
    char shorter[32];
    std::snprintf(shorter, sizeof shorter, "%.*g", precision, v);
    if (std::strtod(shorter, nullptr) == v) return shorter;
  }
  return buf;
}

void check_bins(std::int64_t bins) {
  if (bins < 1 || bins > std::int64_t(Axis::max_bins)) {
    throw std::invalid_argument("bins must be between 1 and " + std::to_string(Axis::max_bins) +
                                ", got " + std::to_string(bins));
  }
}

}  // namespace

Axis Axis::uniform(double lo, double hi, std::int64_t bins) {
  check_bins(bins);
  if (!std::isfinite(lo) || !std::isfinite(hi)) {
    throw std::invalid_argument("uniform axis bounds must be finite, got lo=" + format_number(lo) +
                                ", hi=" + format_number(hi));
  }
  if (!(lo < hi)) {
    throw std::invalid_argument("uniform axis needs lo < hi, got lo=" + format_number(lo) +
                                ", hi=" + format_number(hi));
  }
  const double width = hi - lo;
  if (!std::isfinite(width)) {
    throw std::invalid_argument("uniform axis range hi - lo overflows a double: lo=" +
                                format_number(lo) + ", hi=" + format_number(hi));
  }
  Axis axis;
  axis.kind_ = AxisKind::uniform;
  axis.bins_ = std::uint32_t(bins);
  // Exactly numpy.linspace(lo, hi, bins + 1): step = delta / div; y = i * step + lo; y[-1] = hi.
  // numpy rounds the product and the sum separately; so does this line because every
  // target is built with -ffp-contract=off (CMakeLists.txt). Fused into one FMA, as
  // GCC does by default on AArch64, about half of the edges would differ in the last bit.
  const double step = width / double(bins);
  axis.edges_.resize(std::size_t(bins) + 1);
  for (std::int64_t i = 0; i < bins; ++i) axis.edges_[std::size_t(i)] = double(i) * step + lo;
  axis.edges_.back() = hi;
  for (std::size_t i = 1; i < axis.edges_.size(); ++i) {
    if (!(axis.edges_[i - 1] < axis.edges_[i])) {
      throw std::invalid_argument("uniform axis is too fine for doubles: " + std::to_string(bins) +
                                  " bins over [" + format_number(lo) + ", " + format_number(hi) +
                                  ") give equal neighbouring edges");
    }
  }
  // numpy.histogram computes norm = bins / (hi - lo) the same way.
  axis.scale_ = double(bins) / width;
  // Rounding in (x - lo) * scale + 1 and in the edges themselves is bounded by a
  // few ulps of max(|lo|, |hi|) * scale + bins; 32 ulps is a wide margin. Values
  // whose fractional position lies within it are rechecked against the edges.
  const double magnitude = std::max(std::fabs(lo), std::fabs(hi)) * axis.scale_ + double(bins) + 2.0;
  const double tolerance = 32.0 * std::numeric_limits<double>::epsilon() * magnitude;
  axis.tolerance_ = std::min(tolerance, 0.5);
  // The kernels trust (x - lo) * scale wherever its fraction lies farther than
  // the tolerance from an integer, and recheck the rest against the edges. That
  // is exact if every edge's own position lands within half the tolerance of
  // its index (positions are monotone in x, so values between two edges then
  // land between their indices). Bins narrow enough to be subnormal, or so fine
  // that the scale overflows, break it: such an axis is refused, not misbinned.
  bool exact = std::isfinite(axis.scale_);
  for (std::size_t i = 0; exact && i < axis.edges_.size(); ++i) {
    exact = std::fabs((axis.edges_[i] - lo) * axis.scale_ - double(i)) <= 0.5 * axis.tolerance_;
  }
  if (!exact) {
    throw std::invalid_argument("uniform axis over [" + format_number(lo) + ", " + format_number(hi) + ") with " +
                                std::to_string(bins) +
                                " bins cannot be binned exactly in doubles (bins too narrow); use driftline.Edges");
  }
  axis.finish();
  return axis;
}

Axis Axis::variable(std::vector<double> edges) {
  if (edges.size() < 2) {
    throw std::invalid_argument("edges need at least 2 values, got " + std::to_string(edges.size()));
  }
  check_bins(std::int64_t(edges.size()) - 1);
  for (std::size_t i = 0; i < edges.size(); ++i) {
    if (!std::isfinite(edges[i])) {
      throw std::invalid_argument("edges must be finite, got " + format_number(edges[i]) +
                                  " at index " + std::to_string(i));
    }
    if (i > 0 && !(edges[i - 1] < edges[i])) {
      throw std::invalid_argument("edges must be strictly increasing, got " +
                                  format_number(edges[i - 1]) + " then " + format_number(edges[i]) +
                                  " at index " + std::to_string(i));
    }
  }
  Axis axis;
  axis.kind_ = AxisKind::variable;
  axis.bins_ = std::uint32_t(edges.size() - 1);
  axis.edges_ = std::move(edges);
  axis.finish();
  return axis;
}

void Axis::finish() {
  std::size_t padded = 4;
  while (padded < edges_.size()) padded *= 2;
  padded_.assign(padded, std::numeric_limits<double>::quiet_NaN());
  std::copy(edges_.begin(), edges_.end(), padded_.begin());
}

std::uint32_t Axis::slot(double x) const noexcept {
  if (std::isnan(x)) return std::uint32_t(nan_slot());
  if (kind_ == AxisKind::variable) {
    // Few edges: counting beats a binary search whose branches the predictor
    // cannot learn. Same answer as upper_bound.
    if (padded_.size() <= 16) return edges_at_most(padded_.data(), padded_.size(), x);
    return std::uint32_t(std::upper_bound(edges_.begin(), edges_.end(), x) - edges_.begin());
  }
  double t = (x - lo()) * scale_;
  t = std::min(std::max(t, -0.5), double(bins_) + 0.5);
  return correct_slot(x, std::uint32_t(t + 1.0), edges_.data(), bins_);
}

bool Axis::operator==(const Axis& other) const noexcept {
  return kind_ == other.kind_ && edges_ == other.edges_;
}

std::string Axis::describe() const {
  if (kind_ == AxisKind::uniform) {
    return "Uniform(" + format_number(lo()) + ", " + format_number(hi()) +
           ", bins=" + std::to_string(bins_) + ")";
  }
  std::string out = "Edges([";
  const std::size_t n = edges_.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (n > 8 && i == 3) {
      out += "..., ";
      i = n - 4;
    }
    out += format_number(edges_[i]);
    if (i + 1 < n) out += ", ";
  }
  return out + "], bins=" + std::to_string(bins_) + ")";
}

}  // namespace driftline
