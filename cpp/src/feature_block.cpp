#include "driftline/feature_block.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "driftline/errors.hpp"
#include "driftline/histogram.hpp"
#include "driftline/kernels.hpp"
#include "driftline/serde.hpp"

namespace driftline {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Below this many values a feature is binned value by value (Axis::slot);
// above, by the SIMD kernels.
constexpr std::size_t kKernelMinRows = 16;
// Rows transposed at a time from strided input (fewer for many features): the
// per-feature runs, at most kTransposeValues doubles, stay within L2.
constexpr std::size_t kTransposeRows = 512;
constexpr std::size_t kTransposeValues = 32768;

}  // namespace

FeatureBlock::FeatureBlock(std::vector<Axis> axes) {
  if (axes.empty()) throw std::invalid_argument("a feature block needs at least one feature");
  if (axes.size() > max_features) {
    throw std::invalid_argument("at most " + std::to_string(max_features) + " features, got " +
                                std::to_string(axes.size()));
  }
  auto layout = std::make_shared<Layout>();
  layout->offsets.reserve(axes.size());
  for (const Axis& a : axes) {
    layout->offsets.push_back(layout->cells);
    layout->cells += a.slots();
  }
  layout->axes = std::move(axes);
  const std::size_t f = layout->axes.size();
  layout->row_edges.assign(f * kRowEdges, std::numeric_limits<double>::quiet_NaN());
  layout->in_table.assign(f, 0);
  for (std::size_t j = 0; j < f; ++j) {
    const std::vector<double>& e = layout->axes[j].edges();
    if (e.size() > kRowEdges) continue;
    std::copy(e.begin(), e.end(), layout->row_edges.begin() + std::ptrdiff_t(j * kRowEdges));
    layout->in_table[j] = 1;
  }
  counts_.assign(layout->cells, 0);
  absent_.assign(f, 0);
  invalid_.assign(f, 0);
  min_.assign(f, kInf);
  max_.assign(f, -kInf);
  layout_ = std::move(layout);
}

void FeatureBlock::fill_values(std::size_t f, const double* x, std::size_t m) {
  const Axis& axis = layout_->axes[f];
  std::uint64_t* counts = counts_.data() + layout_->offsets[f];
  const std::uint64_t nan_before = counts[axis.nan_slot()];
  if (m < kKernelMinRows) {
    double lo = min_[f], hi = max_[f];
    for (std::size_t i = 0; i < m; ++i) {
      ++counts[axis.slot(x[i])];
      lo = x[i] < lo ? x[i] : lo;  // NaN compares false both ways
      hi = x[i] > hi ? x[i] : hi;
    }
    min_[f] = lo;
    max_[f] = hi;
  } else {
    count_slots(axis, x, m, counts);
    active_kernels().extremes(x, m, &min_[f], &max_[f]);
  }
  if (counts[axis.nan_slot()] != nan_before) {
    for (std::size_t i = 0; i < m; ++i) {
      absent_[f] += has_bits(x[i], kAbsentBits);
      invalid_[f] += has_bits(x[i], kInvalidBits);
    }
  }
}

// One row: every feature's value binned in one tight loop (the per-request
// hot path of a Monitor), without a function call per feature.
void FeatureBlock::fill_row(const FeatureRows& row) {
  const Layout& layout = *layout_;
  const std::size_t nf = layout.axes.size();
  const std::size_t* offsets = layout.offsets.data();
  const std::uint8_t* in_table = layout.in_table.data();
  const double* table = layout.row_edges.data();
  std::uint64_t* counts = counts_.data();
  double* lo = min_.data();
  double* hi = max_.data();
  for (std::size_t f = 0; f < nf; ++f) {
    const double x = row.columns[f][0];
    if (std::isnan(x)) {
      ++counts[offsets[f] + layout.axes[f].nan_slot()];
      absent_[f] += has_bits(x, kAbsentBits);
      invalid_[f] += has_bits(x, kInvalidBits);
      continue;
    }
    std::uint32_t slot;
    if (in_table[f]) {
      slot = edges_at_most(table + f * kRowEdges, kRowEdges, x);
    } else {
      slot = layout.axes[f].slot(x);
    }
    ++counts[offsets[f] + slot];
    lo[f] = x < lo[f] ? x : lo[f];
    hi[f] = x > hi[f] ? x : hi[f];
  }
}

void FeatureBlock::fill(const FeatureRows& rows, std::size_t n) {
  if (n == 0) return;
  rows_ += n;
  if (n == 1) {
    fill_row(rows);
    return;
  }
  const std::size_t nf = features();
  bool contiguous = true;
  for (std::size_t f = 0; f < nf; ++f) contiguous = contiguous && rows.strides[f] == 1;
  if (contiguous) {
    for (std::size_t f = 0; f < nf; ++f) fill_values(f, rows.columns[f], n);
    return;
  }
  // Strided input (a row-major matrix, typically): transpose a block of rows
  // at a time into per-feature runs, reading each row once, in order.
  const std::size_t block = std::min(std::max<std::size_t>(kKernelMinRows, std::min(kTransposeRows, kTransposeValues / nf)), n);
  // Runs one cache line longer than the block: a power-of-two distance between
  // the runs would map them all to the same cache sets.
  const std::size_t run = block + 8;
  std::vector<double> runs(nf * run);
  // A matrix (feature f at base + f * step) gets the simple two-level loop.
  const double* base = rows.columns[0];
  const std::ptrdiff_t step = nf > 1 ? rows.columns[1] - base : 0;
  bool matrix = true;
  for (std::size_t f = 0; f < nf; ++f) {
    matrix = matrix && rows.strides[f] == rows.strides[0] && rows.columns[f] == base + std::ptrdiff_t(f) * step;
  }
  for (std::size_t start = 0; start < n; start += block) {
    const std::size_t m = std::min(block, n - start);
    if (matrix) {
      for (std::size_t i = 0; i < m; ++i) {
        const double* row = base + std::ptrdiff_t(start + i) * rows.strides[0];
        for (std::size_t f = 0; f < nf; ++f) runs[f * run + i] = row[std::ptrdiff_t(f) * step];
      }
    } else {
      for (std::size_t i = 0; i < m; ++i) {
        const auto r = std::ptrdiff_t(start + i);
        for (std::size_t f = 0; f < nf; ++f) runs[f * run + i] = rows.columns[f][r * rows.strides[f]];
      }
    }
    for (std::size_t f = 0; f < nf; ++f) fill_values(f, runs.data() + f * run, m);
  }
}

bool FeatureBlock::same_axes(const FeatureBlock& other) const noexcept {
  return layout_ == other.layout_ || layout_->axes == other.layout_->axes;
}

void FeatureBlock::merge(const FeatureBlock& other) {
  if (!same_axes(other)) {
    throw axis_mismatch("cannot merge feature blocks with different features or bins");
  }
  auto overflows = [](std::uint64_t a, std::uint64_t b) { return a + b < a; };
  if (overflows(rows_, other.rows_)) throw std::overflow_error("row count would exceed 2^64 - 1");
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (overflows(counts_[i], other.counts_[i])) throw std::overflow_error("a count would exceed 2^64 - 1");
  }
  // Absent and invalid are part of the NaN slot, checked above.
  rows_ += other.rows_;
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  for (std::size_t f = 0; f < features(); ++f) {
    absent_[f] += other.absent_[f];
    invalid_[f] += other.invalid_[f];
    min_[f] = std::min(min_[f], other.min_[f]);
    max_[f] = std::max(max_[f], other.max_[f]);
  }
}

void FeatureBlock::reset() {
  rows_ = 0;
  std::fill(counts_.begin(), counts_.end(), 0);
  std::fill(absent_.begin(), absent_.end(), 0);
  std::fill(invalid_.begin(), invalid_.end(), 0);
  std::fill(min_.begin(), min_.end(), kInf);
  std::fill(max_.begin(), max_.end(), -kInf);
}

bool FeatureBlock::operator==(const FeatureBlock& other) const {
  return same_axes(other) && rows_ == other.rows_ && counts_ == other.counts_ && absent_ == other.absent_ &&
         invalid_ == other.invalid_ && min_ == other.min_ && max_ == other.max_;
}

std::vector<std::uint8_t> FeatureBlock::to_bytes() const {
  ByteWriter w;
  w.u32(std::uint32_t(features()));
  w.u32(0);
  w.u64(rows_);
  write_axes(w);
  for (std::size_t f = 0; f < features(); ++f) {
    const std::size_t begin = offset(f), end = begin + axis(f).slots();
    for (std::size_t i = begin; i < end; ++i) w.u64(counts_[i]);
    w.u64(absent_[f]);
    w.u64(invalid_[f]);
    w.f64(min_[f]);
    w.f64(max_[f]);
  }
  return seal(ObjectType::feature_block, w.bytes());
}

FeatureBlock FeatureBlock::from_bytes(const std::uint8_t* data, std::size_t size) {
  ByteReader r = open(ObjectType::feature_block, data, size);
  const std::uint32_t f = r.u32("features");
  if (f < 1 || f > max_features) {
    throw decode_error("features " + std::to_string(f) + " outside 1 .. " + std::to_string(max_features));
  }
  if (r.u32("reserved") != 0) throw decode_error("reserved bytes are not zero");
  const std::uint64_t rows = r.u64("rows");
  // Each feature needs at least 4 + 16 bytes of axis and 8 * 8 of counts.
  r.require(f, 84, "features");
  std::vector<Axis> axes = read_axes(r, f);
  std::uint64_t cells = 0;
  for (const Axis& a : axes) cells += a.slots() + 4;
  r.require(cells, 8, "counts");
  FeatureBlock b(std::move(axes));
  b.rows_ = rows;
  for (std::size_t i = 0; i < b.features(); ++i) {
    std::uint64_t* counts = b.counts_.data() + b.offset(i);
    for (std::size_t c = 0; c < b.axis(i).slots(); ++c) counts[c] = r.u64("slot count");
    b.absent_[i] = r.u64("absent");
    b.invalid_[i] = r.u64("invalid");
    b.min_[i] = r.f64("minimum");
    b.max_[i] = r.f64("maximum");
    b.check_feature(i);
  }
  r.expect_end("feature block payload");
  return b;
}

void FeatureBlock::check_feature(std::size_t i) const {
  const Axis& a = axis(i);
  const std::uint64_t* counts = counts_.data() + offset(i);
  std::uint64_t sum = 0;
  for (std::size_t s = 0; s < a.slots(); ++s) {
    if (sum + counts[s] < sum) throw decode_error("slot counts add up past 2^64 - 1");
    sum += counts[s];
  }
  if (sum != rows_) throw decode_error("a feature's slot counts do not add up to the row count");
  const std::uint64_t nan = counts[a.nan_slot()];
  if (absent_[i] > nan || invalid_[i] > nan - absent_[i]) {
    throw decode_error("absent and invalid counts exceed the missing count");
  }
  const bool has_values = nan != rows_;
  const bool consistent = has_values ? (min_[i] <= max_[i])  // false for NaN
                                     : (min_[i] == kInf && max_[i] == -kInf);
  if (!consistent) throw decode_error("minimum and maximum do not match the counts");
}

void FeatureBlock::write_axes(ByteWriter& w) const {
  for (const Axis& a : layout_->axes) {
    w.u32(a.bins());
    for (double e : a.edges()) w.f64(e);
  }
}

std::vector<Axis> FeatureBlock::read_axes(ByteReader& r, std::uint32_t features) {
  std::vector<Axis> axes;
  axes.reserve(features);
  for (std::uint32_t i = 0; i < features; ++i) {
    const std::uint32_t bins = r.u32("bins");
    if (bins < 1 || bins > Axis::max_bins) throw decode_error("bins " + std::to_string(bins) + " out of range");
    r.require(std::uint64_t(bins) + 1, 8, "edges");
    std::vector<double> edges(std::size_t(bins) + 1);
    for (double& e : edges) e = r.f64("edge");
    try {
      axes.push_back(Axis::variable(std::move(edges)));
    } catch (const std::invalid_argument& e) {
      throw decode_error(std::string("invalid axis: ") + e.what());
    }
  }
  return axes;
}

void FeatureBlock::write_compact(ByteWriter& w) const {
  w.varint(rows_);
  if (rows_ == 0) return;
  for (std::size_t f = 0; f < features(); ++f) {
    const std::uint64_t* counts = counts_.data() + offset(f);
    const std::size_t slots = axis(f).slots();
    for (std::size_t s = 0; s < slots;) {
      w.varint(counts[s]);
      if (counts[s] != 0) {
        ++s;
        continue;
      }
      std::size_t run = 1;
      while (s + run < slots && counts[s + run] == 0) ++run;
      w.varint(run - 1);  // zeros after this one
      s += run;
    }
    w.varint(absent_[f]);
    w.varint(invalid_[f]);
    if (counts[axis(f).nan_slot()] != rows_) {
      w.f64(min_[f]);
      w.f64(max_[f]);
    }
  }
}

void FeatureBlock::read_compact(ByteReader& r) {
  rows_ = r.varint("rows");
  if (rows_ == 0) return;  // the block is reset: nothing else was written
  for (std::size_t f = 0; f < features(); ++f) {
    std::uint64_t* counts = counts_.data() + offset(f);
    const std::size_t slots = axis(f).slots();
    for (std::size_t s = 0; s < slots;) {
      const std::uint64_t v = r.varint("slot count");
      if (v != 0) {
        counts[s++] = v;
        continue;
      }
      const std::uint64_t more = r.varint("run of zero counts");
      if (more >= slots - s) throw decode_error("a run of zero counts runs past the feature's slots");
      s += std::size_t(more) + 1;  // the counts are already zero
    }
    absent_[f] = r.varint("absent");
    invalid_[f] = r.varint("invalid");
    if (counts[axis(f).nan_slot()] != rows_) {
      min_[f] = r.f64("minimum");
      max_[f] = r.f64("maximum");
    }
    check_feature(f);
  }
}

std::size_t FeatureBlock::memory() const noexcept {
  return sizeof(FeatureBlock) + 8 * (layout_->cells + 4 * features());
}

}  // namespace driftline
