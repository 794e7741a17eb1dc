// driftline/bucket_store.hpp -- dense counts over a contiguous run of bucket indices.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace driftline {

// BucketStore: counts of buckets lo() .. hi(), stored densely. The allocation
// may extend past the occupied range (slack for growth), never past the span the
// owner allows, so memory stays bounded by the owner's max_buckets.
// total() is kept as the counts change (O(1): a sketch checks its room for
// every value it counts). Not synchronized: the owning sketch holds the lock.
class BucketStore {
 public:
  bool empty() const noexcept { return lo_ > hi_; }
  // Lowest and highest occupied index (hi() < lo() when empty).
  std::int32_t lo() const noexcept { return lo_; }
  std::int32_t hi() const noexcept { return hi_; }
  std::uint64_t count(std::int32_t index) const noexcept {
    if (index < base_ || index >= base_ + std::int32_t(counts_.size())) return 0;
    return counts_[std::size_t(index - base_)];
  }
  // The sum of the counts (the owner keeps it at most 2^64 - 1).
  std::uint64_t total() const noexcept { return total_; }

  // Makes [first, last] addressable; the occupied-plus-new span must be at most
  // `limit` buckets (the caller lowers the scale first when it would not be).
  void cover(std::int32_t first, std::int32_t last, std::uint32_t limit) {
    const std::int32_t end = base_ + std::int32_t(counts_.size());  // one past the allocation
    if (!counts_.empty() && first >= base_ && last < end) return;
    const std::int64_t want_lo = empty() ? first : std::min(first, lo_);
    const std::int64_t want_hi = empty() ? last : std::max(last, hi_);
    const std::int64_t need = want_hi - want_lo + 1;
    // Grow by half again for amortized O(1), centred on the growth, within the limit.
    const std::int64_t size = std::min<std::int64_t>(std::int64_t(limit), need + need / 2 + 8);
    std::int64_t new_base = want_lo - (size - need) / 2;
    std::vector<std::uint64_t> grown(std::size_t(size), 0);
    for (std::int32_t i = lo_; i <= hi_ && !empty(); ++i) {
      grown[std::size_t(i - new_base)] = counts_[std::size_t(i - base_)];
    }
    counts_.swap(grown);
    base_ = std::int32_t(new_base);
  }

  // Adds c to bucket `index`, which cover() made addressable.
  void add(std::int32_t index, std::uint64_t c) noexcept {
    counts_[std::size_t(index - base_)] += c;
    total_ += c;
    lo_ = std::min(lo_, index);
    hi_ = std::max(hi_, index);
  }
  // For bulk adds: counts of bucket i live at data()[i - base()]. Call
  // note_added after, with the span written and the sum of the increments.
  std::uint64_t* data() noexcept { return counts_.data(); }
  std::int32_t base() const noexcept { return base_; }
  void note_added(std::int32_t first, std::int32_t last, std::uint64_t added) noexcept {
    total_ += added;
    lo_ = std::min(lo_, first);
    hi_ = std::max(hi_, last);
  }

  // Re-buckets to a scale `by` steps coarser: index i becomes i >> by (exact:
  // every bucket at the finer scale lies inside exactly one coarser bucket).
  void downscale(int by) {
    if (by <= 0 || empty()) return;
    const std::int32_t new_lo = lo_ >> by;
    const std::int32_t new_hi = hi_ >> by;
    std::vector<std::uint64_t> merged(std::size_t(new_hi - new_lo + 1), 0);
    for (std::int32_t i = lo_; i <= hi_; ++i) merged[std::size_t((i >> by) - new_lo)] += count(i);
    counts_.swap(merged);
    base_ = lo_ = new_lo;
    hi_ = new_hi;
  }

  // Occupied counts, lo() .. hi(), for serialization and comparison.
  std::vector<std::uint64_t> occupied() const {
    std::vector<std::uint64_t> out;
    if (empty()) return out;
    out.reserve(std::size_t(hi_ - lo_ + 1));
    for (std::int32_t i = lo_; i <= hi_; ++i) out.push_back(count(i));
    return out;
  }
  // Rebuilds from occupied counts (first and last non-zero).
  void assign(std::int32_t first, std::vector<std::uint64_t> counts) {
    if (counts.empty()) {
      *this = BucketStore();
      return;
    }
    base_ = lo_ = first;
    hi_ = first + std::int32_t(counts.size()) - 1;
    total_ = 0;
    for (const std::uint64_t c : counts) total_ += c;  // the decoder checked that they add up without wrapping
    counts_ = std::move(counts);
  }

  void clear() { *this = BucketStore(); }

  bool same_counts(const BucketStore& other) const {
    if (empty() || other.empty()) return empty() && other.empty();
    if (lo_ != other.lo_ || hi_ != other.hi_) return false;
    for (std::int32_t i = lo_; i <= hi_; ++i) {
      if (count(i) != other.count(i)) return false;
    }
    return true;
  }

 private:
  std::vector<std::uint64_t> counts_;
  std::int32_t base_ = 0;
  std::int32_t lo_ = INT32_MAX;
  std::int32_t hi_ = INT32_MIN;
  std::uint64_t total_ = 0;  // sum of counts_ (downscale() and cover() move counts, never change it)
};

}  // namespace driftline
