// driftline/kernels.hpp -- the hot loops, with runtime ISA dispatch.
//
// The kernels are the only code compiled more than once: cpp/src/*_kernels.cpp
// is built at the baseline ISA ("scalar": SSE2 on x86-64, NEON on AArch64) and,
// on x86-64, again with AVX2 and with AVX-512 flags into separate namespaces.
// The best variant the CPU and OS support is picked at first use; tests can force
// any available one (select_kernels) so every variant is exercised.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace driftline {

struct UniformSlotParams {
  double lo;          // first edge
  double scale;       // bins / (hi - lo)
  double tolerance;   // Axis::near_edge_tolerance()
  std::uint32_t bins;
  const double* edges;  // bins + 1 edges, for the exact recheck near an edge
};

struct VariableSlotParams {
  const double* edges;   // n_edges strictly increasing edges
  std::uint32_t n_edges;
  const double* padded;  // edges padded with NaN to n_padded, a power of two >= 4
  std::uint32_t n_padded;
};

// Degree of the log2 polynomial in ExponentMapping (see exponent_mapping.hpp).
inline constexpr int kLog2PolynomialDegree = 10;

// Parameters of the exponent-bucket index (see exponent_mapping.hpp).
struct SketchIndexParams {
  int scale;
  const std::uint32_t* first_boundary;  // scale > 0 only
  const double* thresholds;             // scale > 0 only
  const double* log2_coefficients;      // scale > 0 only (ExponentMapping)
  double log2_tolerance;                // scale > 0 only
  // Subtracted from every index the kernel writes and from the summary's index
  // extremes: the caller passes its store's base so that, in the common case,
  // the indices come out as store offsets with no further pass.
  std::int32_t bias;
};

// Value classes written by Kernels::sketch_block.
enum SketchClass : std::uint8_t {
  kPositive = 0, kNegative = 1, kZero = 2, kNaN = 3, kPositiveInf = 4, kNegativeInf = 5,
};

// What a block of values adds to a sketch, besides its bucket counts.
struct SketchBlockSummary {
  std::uint64_t by_class[6];  // indexed by SketchClass
  double min;                 // over finite values; +inf when there are none
  double max;                 // over finite values; -inf when there are none
  double sum_hi, sum_lo;      // double-double sum of the finite values
  std::int32_t positive_min_index, positive_max_index;  // valid when by_class[kPositive] > 0
  std::int32_t negative_min_index, negative_max_index;  // of |x|; valid when by_class[kNegative] > 0
};

// One ISA variant; results are identical across variants.
//  - uniform / variable write, for x[0..n), the slot of every value (Axis slot
//    layout) into out[0..n).
//  - cumulative adds to at_least[j] the number of values >= edges[j] for each
//    of the n_edges edges, and to at_least[n_edges] the number of NaNs. Slot
//    counts follow by differencing; no counter is scattered to, which makes it
//    the fastest way to histogram over a few edges (used up to 16 edges).
struct Kernels {
  const char* name;
  void (*uniform)(const double* x, std::size_t n, const UniformSlotParams& p, std::uint32_t* out);
  void (*variable)(const double* x, std::size_t n, const VariableSlotParams& p, std::uint32_t* out);
  void (*cumulative)(const double* x, std::size_t n, const double* edges, std::uint32_t n_edges,
                     std::uint64_t* at_least);
  //  - sketch_block classifies x[0..n) into cls[] and writes the bucket index of
  //    |x| (meaningful for finite non-zero values) into index[], and summarizes
  //    the block. n is at most kSketchBlock.
  void (*sketch_block)(const double* x, std::size_t n, const SketchIndexParams& p,
                       std::int32_t* index, std::uint8_t* cls, SketchBlockSummary& summary);
  //  - run_end returns the first index in [begin, end) whose t is not in
  //    [lo, hi) (NaN never is), or end.
  std::size_t (*run_end)(const double* t, std::size_t begin, std::size_t end, double lo, double hi);
  //  - extremes folds the minimum and maximum of the non-NaN values of x[0..n)
  //    into *lo and *hi (infinities included; NaN never moves them).
  void (*extremes)(const double* x, std::size_t n, double* lo, double* hi);
  //  - collect_inside copies, in order, the values of x[0..n) inside any of
  //    the m closed intervals [lo[j], hi[j]] to out (room for n + 1 values: the
  //    compaction stores one past the last member) and returns how many.
  std::size_t (*collect_inside)(const double* x, std::size_t n, const double* lo, const double* hi,
                                std::uint32_t m, double* out);
};

inline constexpr std::size_t kSketchBlock = 1024;

// Axes with at most this many edges are counted with Kernels::cumulative.
inline constexpr std::uint32_t kCumulativeMaxEdges = 16;

// The variant in use. Thread-safe; chosen on first call from the environment
// variable DRIFTLINE_SIMD ("auto", "scalar", "avx2", "avx512") or the best supported.
const Kernels& active_kernels() noexcept;

// Variants this build contains *and* this CPU supports, best last.
std::vector<std::string> available_kernels();

// Switches the variant for the whole process ("auto" = best available).
// Throws std::invalid_argument for an unknown or unsupported name.
void select_kernels(const std::string& name);

}  // namespace driftline
