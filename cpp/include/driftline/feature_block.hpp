// driftline/feature_block.hpp -- counts for many features at once, filled a row at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "driftline/axis.hpp"
#include "driftline/serde.hpp"

namespace driftline {

// Values a converter writes for fields a row cannot give. Both are quiet NaNs
// with their own payloads, so they are counted as missing like any NaN and,
// besides, in FeatureBlock::absent() resp. invalid(). Any other NaN is a plain
// missing value (None, NaN).
inline constexpr std::uint64_t kAbsentBits = 0x7ff800000000ab5eULL;   // the row has no such field
inline constexpr std::uint64_t kInvalidBits = 0x7ff800000000bad0ULL;  // the field is not a number

inline double from_bits(std::uint64_t bits) noexcept {
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}
inline bool has_bits(double x, std::uint64_t bits) noexcept {
  std::uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return b == bits;
}

// n rows of F features: feature f of row i is columns[f][i * strides[f]]
// (strides in elements, any sign). Row-major matrices, Fortran matrices and
// separate column arrays are all views of this kind, so none is copied.
struct FeatureRows {
  const double* const* columns;
  const std::ptrdiff_t* strides;
};

// FeatureBlock: for each of F features, exact uint64 counts over the feature's
// own Axis (underflow, bins, overflow, NaN; the Axis slot layout), counts of
// absent and invalid fields (a subset of the NaN slot), and the minimum and
// maximum of the non-NaN values (infinities included). Every row lands in
// exactly one slot of every feature, so each feature's slots add up to rows().
//
// It is one time slot of a Monitor's Window: categorical features are binned
// over their integer codes (code k in bin [k, k + 1)), numeric ones over their
// reference edges.
//
// Thread safety: none of its own; the Window that holds it serializes access.
// Copies share the immutable axes. Memory: 8 * (sum of (bins + 3) + 4 F) bytes.
class FeatureBlock {
 public:
  static constexpr std::uint32_t max_features = 1u << 16;

  // Throws std::invalid_argument for no axes or more than max_features.
  explicit FeatureBlock(std::vector<Axis> axes);

  std::size_t features() const noexcept { return layout_->axes.size(); }
  const Axis& axis(std::size_t f) const noexcept { return layout_->axes[f]; }
  // Index of feature f's first slot in counts().
  std::size_t offset(std::size_t f) const noexcept { return layout_->offsets[f]; }

  // Adds n rows. Never throws for any double.
  void fill(const FeatureRows& rows, std::size_t n);

  // Adds other's counts. Throws axis_mismatch unless the axes are equal, and
  // std::overflow_error (leaving this unchanged) if a count would pass 2^64 - 1.
  void merge(const FeatureBlock& other);
  void reset();

  std::uint64_t rows() const noexcept { return rows_; }
  const std::vector<std::uint64_t>& counts() const noexcept { return counts_; }
  const std::vector<std::uint64_t>& absent() const noexcept { return absent_; }
  const std::vector<std::uint64_t>& invalid() const noexcept { return invalid_; }
  // +inf / -inf for a feature without a non-NaN value.
  const std::vector<double>& minimum() const noexcept { return min_; }
  const std::vector<double>& maximum() const noexcept { return max_; }

  bool same_axes(const FeatureBlock& other) const noexcept;
  bool operator==(const FeatureBlock& other) const;
  bool operator!=(const FeatureBlock& other) const { return !(*this == other); }

  // Binary payload, version 1 (object type 4 in the envelope of serde.hpp):
  //
  //   offset  size  field
  //   ------  ----  ------------------------------------------------------------
  //        0     4  features F, 1 .. 2^16
  //        4     4  reserved, zero
  //        8     8  rows
  //       16     .  per feature: uint32 bins B (1 .. 2^24), B + 1 edges (f64,
  //                 finite, strictly increasing)
  //        .     .  per feature: B + 3 slot counts, absent, invalid (uint64),
  //                 minimum, maximum (f64)
  //
  // Decoding checks that each feature's slots add up to rows, that absent +
  // invalid fit in the NaN slot, and that min <= max exactly when the feature
  // has a non-NaN value (otherwise +inf, -inf).
  std::vector<std::uint8_t> to_bytes() const;
  static FeatureBlock from_bytes(const std::uint8_t* data, std::size_t size);

  // The axes alone (per feature: uint32 bins B, B + 1 edges), and back: for
  // containers that store them once for many blocks.
  void write_axes(ByteWriter& w) const;
  static std::vector<Axis> read_axes(ByteReader& r, std::uint32_t features);

  // The counts alone, compactly (FeatureWindow format 2): varint rows; when
  // rows > 0, per feature its B + 3 slot counts as varints where a zero is
  // followed by a varint of further zeros (runs of zeros cost two bytes),
  // varint absent and invalid, then minimum and maximum (f64) only when the
  // feature has a non-NaN value. An empty block is one byte. read_compact
  // fills a reset block of the same axes with the checks of from_bytes.
  void write_compact(ByteWriter& w) const;
  void read_compact(ByteReader& r);

  // Bytes of memory one block of these axes holds.
  std::size_t memory() const noexcept;

 private:
  // Edges of axes with at most this many edges are also kept in a flat table
  // for the one-row path (padded with NaN, which no comparison counts).
  static constexpr std::size_t kRowEdges = 16;

  struct Layout {
    std::vector<Axis> axes;
    std::vector<std::size_t> offsets;
    std::size_t cells = 0;
    std::vector<double> row_edges;  // features x kRowEdges
    std::vector<std::uint8_t> in_table;  // per feature: 1 if its edges are in row_edges
  };

  void fill_row(const FeatureRows& row);

  // Throws decode_error unless feature i's decoded counts are consistent.
  void check_feature(std::size_t i) const;

  // Adds m contiguous values of feature f.
  void fill_values(std::size_t f, const double* x, std::size_t m);

  std::shared_ptr<const Layout> layout_;
  std::vector<std::uint64_t> counts_;  // layout_->cells
  std::vector<std::uint64_t> absent_, invalid_;
  std::vector<double> min_, max_;
  std::uint64_t rows_ = 0;
};

// What a Window counts for a slot of this kind: rows.
inline std::uint64_t values_in(const FeatureBlock& b) { return b.rows(); }

}  // namespace driftline
