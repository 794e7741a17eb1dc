// driftline/axis.hpp -- a one-dimensional binning with two flow slots.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace driftline {

enum class AxisKind : std::uint8_t { uniform = 1, variable = 2 };

// Axis: `bins` half-open bins [edges[i], edges[i+1]) over strictly increasing,
// finite edges, plus the slots every histogram keeps beside them.
//
// Slot layout (shared by histograms, kernels and the binary format):
//   slot 0            underflow: x < edges[0], including -inf
//   slot 1 .. bins    bin (slot - 1)
//   slot bins + 1     overflow: x >= edges[bins], including +inf
//   slot bins + 2     NaN, never binned
//
// A uniform axis has edges[i] = i * ((hi - lo) / bins) + lo and edges[bins] = hi,
// computed exactly as numpy.linspace does, so a uniform axis bins every value
// exactly as numpy.histogram(range=(lo, hi)) does, bar numpy's closed last bin.
//
// Thread safety: immutable after construction; share freely.
class Axis {
 public:
  // Upper bound on `bins`, so that a histogram's memory stays bounded (128 MiB).
  static constexpr std::uint32_t max_bins = 1u << 24;

  // Throws std::invalid_argument naming the bad value and the allowed range.
  static Axis uniform(double lo, double hi, std::int64_t bins);
  static Axis variable(std::vector<double> edges);

  AxisKind kind() const noexcept { return kind_; }
  std::uint32_t bins() const noexcept { return bins_; }
  std::size_t slots() const noexcept { return std::size_t(bins_) + 3; }
  std::size_t overflow_slot() const noexcept { return std::size_t(bins_) + 1; }
  std::size_t nan_slot() const noexcept { return std::size_t(bins_) + 2; }
  const std::vector<double>& edges() const noexcept { return edges_; }
  double lo() const noexcept { return edges_.front(); }
  double hi() const noexcept { return edges_.back(); }

  // bins / (hi - lo); meaningful for uniform axes only.
  double scale() const noexcept { return scale_; }
  // For uniform axes: a computed fractional slot position closer than this to
  // an integer may be misrounded and is rechecked against the edges exactly.
  double near_edge_tolerance() const noexcept { return tolerance_; }
  // Edges padded with NaN to a power of two (>= 4) for the unrolled
  // comparison kernel; `x >= NaN` is false, so padding never counts.
  const std::vector<double>& padded_edges() const noexcept { return padded_; }

  // The slot of one value, exactly by the rules above (no kernel involved).
  std::uint32_t slot(double x) const noexcept;

  bool operator==(const Axis& other) const noexcept;
  bool operator!=(const Axis& other) const noexcept { return !(*this == other); }

  // "Uniform(-5, 5, bins=10)" or "Edges([-1, 0, 2.5], bins=2)".
  std::string describe() const;

 private:
  Axis() = default;
  void finish();

  AxisKind kind_ = AxisKind::uniform;
  std::uint32_t bins_ = 0;
  double scale_ = 0.0;
  double tolerance_ = 0.5;
  std::vector<double> edges_;
  std::vector<double> padded_;
};

// The number of edges <= x among n (a multiple of 4) sorted edges padded with
// NaN, which no comparison counts: for x not NaN, the slot of x. Branch-free,
// in four independent partial counts; beats a binary search for a few edges.
inline std::uint32_t edges_at_most(const double* edges, std::size_t n, double x) noexcept {
  std::uint32_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  for (std::size_t k = 0; k < n; k += 4) {
    c0 += edges[k] <= x ? 1u : 0u;
    c1 += edges[k + 1] <= x ? 1u : 0u;
    c2 += edges[k + 2] <= x ? 1u : 0u;
    c3 += edges[k + 3] <= x ? 1u : 0u;
  }
  return (c0 + c1) + (c2 + c3);
}

// Moves a candidate slot to the exact one for x (not NaN) by comparing with the
// edges; candidates are at most a step or two off, so this is O(1) in practice.
inline std::uint32_t correct_slot(double x, std::uint32_t slot, const double* edges,
                                  std::uint32_t bins) noexcept {
  while (slot > 0 && x < edges[slot - 1]) --slot;
  while (slot <= bins && x >= edges[slot]) ++slot;
  return slot;
}

}  // namespace driftline
