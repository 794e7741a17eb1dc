#include "driftline/histogram.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

#include "driftline/errors.hpp"
#include "driftline/serde.hpp"
#include "driftline/kernels.hpp"

namespace driftline {
namespace {

// Values are turned into slots a block at a time so the slot buffer stays in L1.
constexpr std::size_t kSlotBlock = 2048;
// Repeated hits on one bin would serialize on one memory location; counting
// into two interleaved copies breaks the store-to-load dependency chain (more
// copies measured slower here: they cost more address arithmetic than they save).
constexpr std::size_t kCopies = 2;
constexpr std::size_t kMaxInterleavedSlots = 1024;

template <typename Sink>
void for_each_slot_block(const Axis& axis, const double* x, std::size_t n, Sink&& sink) {
  const Kernels& k = active_kernels();
  std::uint32_t slots[kSlotBlock];
  if (axis.kind() == AxisKind::uniform) {
    const UniformSlotParams p{axis.lo(), axis.scale(), axis.near_edge_tolerance(), axis.bins(),
                              axis.edges().data()};
    for (std::size_t start = 0; start < n; start += kSlotBlock) {
      const std::size_t m = std::min(kSlotBlock, n - start);
      k.uniform(x + start, m, p, slots);
      sink(slots, m, x + start + m, n - start - m);
    }
  } else {
    const VariableSlotParams p{axis.edges().data(), std::uint32_t(axis.edges().size()),
                               axis.padded_edges().data(),
                               std::uint32_t(axis.padded_edges().size())};
    for (std::size_t start = 0; start < n; start += kSlotBlock) {
      const std::size_t m = std::min(kSlotBlock, n - start);
      k.variable(x + start, m, p, slots);
      sink(slots, m, x + start + m, n - start - m);
    }
  }
}

void add_checked(std::vector<std::uint64_t>& into, const std::vector<std::uint64_t>& from) {
  std::vector<std::uint64_t> sum(into.size());
  for (std::size_t i = 0; i < into.size(); ++i) {
    sum[i] = into[i] + from[i];
    if (sum[i] < into[i]) throw std::overflow_error("histogram count would exceed 2^64 - 1");
  }
  into.swap(sum);
}

}  // namespace

void count_slots(const Axis& axis, const double* x, std::size_t n, std::uint64_t* counts) {
  const std::size_t nslots = axis.slots();
  const auto n_edges = std::uint32_t(axis.edges().size());
  if (n_edges <= kCumulativeMaxEdges) {
    // at_least[j] = values >= edges[j]; at_least[n_edges] = NaNs.
    std::uint64_t at_least[kCumulativeMaxEdges + 1] = {};
    active_kernels().cumulative(x, n, axis.edges().data(), n_edges, at_least);
    const std::uint64_t nan = at_least[n_edges];
    counts[0] += (n - nan) - at_least[0];
    for (std::uint32_t s = 1; s < n_edges; ++s) counts[s] += at_least[s - 1] - at_least[s];
    counts[n_edges] += at_least[n_edges - 1];  // overflow slot (bins + 1)
    counts[n_edges + 1] += nan;
    return;
  }
  if (nslots > kMaxInterleavedSlots) {
    for_each_slot_block(axis, x, n, [&](const std::uint32_t* s, std::size_t m, const double*,
                                        std::size_t) {
      for (std::size_t i = 0; i < m; ++i) ++counts[s[i]];
    });
    return;
  }
  std::vector<std::uint64_t> copies(kCopies * nslots, 0);
  std::uint64_t* c0 = copies.data();
  std::uint64_t* c1 = c0 + nslots;
  for_each_slot_block(axis, x, n, [&](const std::uint32_t* s, std::size_t m, const double* next,
                                      std::size_t next_size) {
    std::size_t i = 0;
    if (next_size >= m) {
      // Stream the next block into cache while this one is counted: one cache
      // line (8 values) per 8 counted values keeps DRAM busy during the scatter.
      for (; i + 8 <= m; i += 8) {
        __builtin_prefetch(next + i, 0, 3);
        ++c0[s[i]];
        ++c1[s[i + 1]];
        ++c0[s[i + 2]];
        ++c1[s[i + 3]];
        ++c0[s[i + 4]];
        ++c1[s[i + 5]];
        ++c0[s[i + 6]];
        ++c1[s[i + 7]];
      }
    }
    for (; i + 2 <= m; i += 2) {
      ++c0[s[i]];
      ++c1[s[i + 1]];
    }
    for (; i < m; ++i) ++c0[s[i]];
  });
  for (std::size_t j = 0; j < nslots; ++j) counts[j] += c0[j] + c1[j];
}

Histogram::Histogram(Axis axis) : axis_(std::move(axis)), counts_(axis_.slots(), 0) {}

// Precondition: the counts add up to at most 2^64 - 1 (from_bytes checks).
Histogram::Histogram(Axis axis, std::vector<std::uint64_t> counts)
    : axis_(std::move(axis)), counts_(std::move(counts)) {
  for (std::uint64_t c : counts_) total_ += c;
}

Histogram::Histogram(const Histogram& other) : axis_(other.axis_) {
  Lock lock(other.mutex_);
  counts_ = other.counts_;
  total_ = other.total_;
}

void Histogram::reserve(std::uint64_t n) const {
  if (total_ + n < total_) throw std::overflow_error("histogram total would exceed 2^64 - 1");
}

Histogram& Histogram::operator=(const Histogram& other) {
  if (this == &other) return *this;
  Histogram copy(other);
  Lock lock(mutex_);
  axis_ = std::move(copy.axis_);
  counts_ = std::move(copy.counts_);
  total_ = copy.total_;
  return *this;
}

void Histogram::fill(const double* values, std::size_t n) {
  if (n == 0) return;
  if (axis_.slots() <= kMaxInterleavedSlots) {
    std::vector<std::uint64_t> local(axis_.slots(), 0);
    count_slots(axis_, values, n, local.data());
    Lock lock(mutex_);
    reserve(n);
    for (std::size_t j = 0; j < local.size(); ++j) counts_[j] += local[j];
    total_ += n;
    return;
  }
  // Wide axes: a private copy would cost O(bins) per call, so compute each
  // block's slots outside the lock and add them in under it. The first check
  // covers the whole call; a block's own check can only fail if concurrent
  // fills pass 2^64 - 1 together, and it still never lets a count wrap.
  {
    Lock lock(mutex_);
    reserve(n);
  }
  for_each_slot_block(axis_, values, n, [&](const std::uint32_t* s, std::size_t m, const double*,
                                            std::size_t) {
    Lock lock(mutex_);
    reserve(m);
    for (std::size_t i = 0; i < m; ++i) ++counts_[s[i]];
    total_ += m;
  });
}

void Histogram::record(double value) {
  const std::uint32_t slot = axis_.slot(value);
  Lock lock(mutex_);
  reserve(1);
  ++counts_[slot];
  ++total_;
}

void Histogram::merge(const Histogram& other) {
  if (axis_ != other.axis_) {
    throw axis_mismatch("cannot merge histograms with different axes: " + axis_.describe() +
                        " and " + other.axis_.describe());
  }
  const Histogram theirs(other);  // a consistent snapshot; also safe for self-merge
  Lock lock(mutex_);
  reserve(theirs.total_);
  add_checked(counts_, theirs.counts_);
  total_ += theirs.total_;
}

void Histogram::reset() {
  Lock lock(mutex_);
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = 0;
}

std::vector<std::uint64_t> Histogram::slot_counts() const {
  Lock lock(mutex_);
  return counts_;
}

std::uint64_t Histogram::total() const {
  Lock lock(mutex_);
  return total_;
}

bool Histogram::operator==(const Histogram& other) const {
  if (this == &other) return true;
  return axis_ == other.axis_ && slot_counts() == other.slot_counts();
}

std::vector<std::uint8_t> Histogram::to_bytes() const {
  const std::vector<std::uint64_t> counts = slot_counts();
  ByteWriter w;
  w.u8(std::uint8_t(axis_.kind()));
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u32(axis_.bins());
  if (axis_.kind() == AxisKind::uniform) {
    w.f64(axis_.lo());
    w.f64(axis_.hi());
  } else {
    for (double e : axis_.edges()) w.f64(e);
  }
  for (std::uint64_t c : counts) w.u64(c);
  return seal(ObjectType::histogram, w.bytes());
}

Histogram Histogram::from_bytes(const std::uint8_t* data, std::size_t size) {
  ByteReader r = open(ObjectType::histogram, data, size);
  const std::uint8_t kind = r.u8("axis kind");
  if (kind != std::uint8_t(AxisKind::uniform) && kind != std::uint8_t(AxisKind::variable)) {
    throw decode_error("unknown axis kind " + std::to_string(kind));
  }
  for (int i = 0; i < 3; ++i) {
    if (r.u8("reserved") != 0) throw decode_error("reserved bytes are not zero");
  }
  const std::uint32_t bins = r.u32("bins");
  if (bins < 1 || bins > Axis::max_bins) {
    throw decode_error("bins " + std::to_string(bins) + " outside 1 .. " +
                       std::to_string(Axis::max_bins));
  }
  // The payload's size is fixed by kind and bins: check it before building the
  // axis, so a forged bin count cannot make us allocate (up to 128 MiB) for it.
  const std::uint64_t axis_bytes = kind == std::uint8_t(AxisKind::uniform)
                                       ? 16u
                                       : (std::uint64_t(bins) + 1) * 8u;
  const std::uint64_t expected = axis_bytes + (std::uint64_t(bins) + 3) * 8u;
  if (r.remaining() != expected) {
    throw decode_error("histogram payload with " + std::to_string(bins) + " bins needs " +
                       std::to_string(expected) + " more bytes, the blob has " +
                       std::to_string(r.remaining()));
  }
  auto build_axis = [&]() {
    try {
      if (kind == std::uint8_t(AxisKind::uniform)) {
        const double lo = r.f64("lo");
        const double hi = r.f64("hi");
        return Axis::uniform(lo, hi, bins);
      }
      r.require(std::uint64_t(bins) + 1, 8, "edges");
      std::vector<double> edges(std::size_t(bins) + 1);
      for (double& e : edges) e = r.f64("edge");
      return Axis::variable(std::move(edges));
    } catch (const std::invalid_argument& e) {
      throw decode_error(std::string("invalid axis: ") + e.what());
    }
  };
  Axis axis = build_axis();
  r.require(axis.slots(), 8, "slot counts");
  std::vector<std::uint64_t> counts(axis.slots());
  std::uint64_t total = 0;
  for (std::uint64_t& c : counts) {
    c = r.u64("slot count");
    if (total + c < total) throw decode_error("slot counts add up past 2^64 - 1");
    total += c;
  }
  r.expect_end("histogram payload");
  return Histogram(std::move(axis), std::move(counts));
}

}  // namespace driftline
