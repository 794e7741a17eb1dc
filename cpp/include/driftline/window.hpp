// driftline/window.hpp -- an event-time ring of mergeable objects.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>
#include <type_traits>
#include <vector>

#include "driftline/errors.hpp"
#include "driftline/feature_block.hpp"
#include "driftline/histogram.hpp"
#include "driftline/kernels.hpp"
#include "driftline/hot.hpp"
#include "driftline/mutex.hpp"
#include "driftline/prefetch.hpp"
#include "driftline/quantile_sketch.hpp"
#include "driftline/serde.hpp"
#include "driftline/time_range.hpp"

namespace driftline {

// Everything a slot object has counted (NaN and infinities included).
inline std::uint64_t values_in(const Histogram& h) { return h.total(); }
inline std::uint64_t values_in(const QuantileSketch& s) {
  return s.count() + s.nan_count() + s.positive_inf_count() + s.negative_inf_count();
}

// Bytes of memory one empty slot built from `prototype` takes (what decoding
// checks against its budget before it builds a ring).
inline std::uint64_t slot_memory(const Histogram& h) {
  return sizeof(Histogram) + 8 * (std::uint64_t(h.axis().slots()) + h.axis().edges().size());
}
inline std::uint64_t slot_memory(const QuantileSketch&) { return sizeof(QuantileSketch) + 256; }
inline std::uint64_t slot_memory(const FeatureBlock& b) { return b.memory(); }

// Whether a slot can live in (or merge into) a window built from `prototype`.
inline bool compatible(const Histogram& prototype, const Histogram& slot) { return prototype.axis() == slot.axis(); }
inline bool compatible(const QuantileSketch&, const QuantileSketch&) { return true; }  // any scales merge
inline bool compatible(const FeatureBlock& prototype, const FeatureBlock& slot) { return prototype.same_axes(slot); }

// Window<T>: `length` time slots of `width` seconds, each a T (Histogram,
// QuantileSketch or FeatureBlock) built from one prototype, filled by event time.
// T::fill takes (input, count); for FeatureBlock the input is FeatureRows and
// the count is rows, which is also what the counters below count.
//
// Semantics. Slot k holds the events with floor(t / width) == k. The ring is
// driven by the clock only: `now` (passed to every call) moves the head slot
// h = max over calls of floor(now / width) forward, never back; the ring holds
// slots h - length + 1 .. h, plus one look-ahead slot h + 1 for events slightly
// ahead of this host's clock. An event with
//   k > h + 1              is counted in future() and dropped (a timestamp in
//                          the wrong unit cannot wipe the ring);
//   k < h - length + 1     is counted in late() and dropped;
//   otherwise              is added to slot k.
// Slots that leave the ring as the head advances are reset and their values
// counted in expired(). Advancing is O(min(gap, length)). So at every moment
// total() == (values in the slots) + late() + future() + expired(): nothing is
// lost without a count. A clock that goes backwards moves nothing.
//
// Exact slot numbers. A clock reading must be finite with |now| <=
// max_clock_seconds, and width >= min_slot_width (time_range.hpp), or the call
// throws std::invalid_argument before it changes anything: every head slot is
// then an exact integer (|head| <= 2^52), and event times
// whose slot lies beyond +-9e15 (any finite or infinite time) are clamped there,
// which is always outside the ring (late or future). No counter wraps: a call
// that would take total() past 2^64 - 1 throws std::overflow_error first, and
// every other count is bounded by total().
//
// Staged single values. record() (one value: a latency, a tracked field's
// number) only checks its times and keeps the value, its time and its clock
// reading in a stage of kStageValues; the stage is counted, in order, as
// record() calls would have counted them one by one, when it is full and
// under the lock of every other member before it reads or changes anything.
// So no reader can tell staging from counting at once, while a server pays
// the slot's cold caches once per stage, not once per request.
//
// Cost. Every call is bounded by its input: O(values) for a fill (with per-value
// times, O(1) expected per run of times in one slot), O(min(gap, length)) to
// advance, O(length) to merge or read.
//
// Thread safety: every member may be called concurrently (one mutex). Fills
// count batches privately and hold the lock only to fold them in (O(slot size)
// per touched slot); merge and the readers hold it for O(ring size). A caller
// that must wait for the lock gives its host's global lock up first
// (mutex.hpp). Memory: (length + 1) prototypes and a 768-byte stage, fixed,
// plus a fill's private copies while it runs.
template <typename T>
class Window {
 public:
  static constexpr std::uint32_t max_length = 1u << 20;
  static constexpr std::size_t kPiece = 16384;
  static constexpr std::size_t kFillInPlace = 1024;
  // Values record() stages before counting them (see the class comment).
  static constexpr std::size_t kStageValues = 32;

  // Throws std::invalid_argument for width <= 0 or not finite, or length
  // outside 1 .. max_length. The prototype's contents are ignored (reset).
  // keep_expired: values leaving the ring are also merged into one object
  // (expired_values), so lifetime() covers everything the window ever held
  // (for counters that must never go down, such as a Prometheus histogram).
  // Memory: one more prototype.
  Window(const T& prototype, double width, std::int64_t length, bool keep_expired = false)
      : prototype_(prototype), expired_values_(prototype), keep_expired_(keep_expired) {
    if (!(width >= min_slot_width) || !std::isfinite(width)) {
      throw std::invalid_argument("width must be a finite number of seconds, at least " + shortest(min_slot_width) +
                                  " (slots are numbered exactly), got " + shortest(width));
    }
    if (length < 1 || length > std::int64_t(max_length)) {
      throw std::invalid_argument("length must be between 1 and " + std::to_string(max_length) +
                                  " slots, got " + std::to_string(length));
    }
    prototype_.reset();
    expired_values_.reset();
    width_ = width;
    length_ = std::uint32_t(length);
    slots_.assign(std::size_t(length_) + 1, prototype_);
  }

  Window(const Window& other) : prototype_(other.prototype()), expired_values_(other.prototype()) {
    Lock lock(other.mutex_);
    other.fold_locked();
    copy_from(other);
  }

  double width() const noexcept { return width_; }
  std::uint32_t length() const noexcept { return length_; }
  const T& prototype() const noexcept { return prototype_; }

  // Where a batch at one timestamp went.
  enum class Placed { slot, late, future };

  // Adds n values (rows, for FeatureBlock), all at time t; returns where they went.
  //
  // Up to kFillInPlace values are filled into their slot under the lock. A
  // larger batch whose slot is in the ring is filled into a private copy of
  // the prototype without the lock and merged in under it (O(slot size)), so
  // the lock is never held for a batch; the counts are those of an in-place
  // fill (a QuantileSketch slot's sum may differ in its last bits).
  template <typename Input>
  Placed fill(const Input& values, std::size_t n, double t, double now) {
    check_time(t, "timestamp");
    check_clock(now);
    const std::int64_t k = slot_of(t);
    if (n > kFillInPlace && will_hold(k, n, now)) {
      T part = prototype_;
      part.fill(values, n);
      Lock lock(mutex_);
      fold_locked();
      check_room(n);  // again: other calls may have counted meanwhile
      advance(now);
      total_ += n;
      return add_part(k, part, n);
    }
    Lock lock(mutex_);
    fold_locked();
    check_room(n);  // total_ bounds every other count, so nothing below can overflow
    advance(now);
    total_ += n;
    return add_run(k, values, n);
  }

  // Adds n values with per-value timestamps t[0..n), all or nothing: a NaN
  // timestamp throws std::invalid_argument and changes nothing (the ring only
  // moves at the end, with the counts).
  //
  // One pass, without the lock: runs of timestamps in one slot are found by
  // comparing against the slot's exact edges (the SIMD-dispatched run_end
  // kernel) and each run is filled into a private scratch object for its
  // slot, so sorted or nearly sorted timestamps cost little more than a plain
  // fill. Runs outside the ring as of `now` are only counted. Then, under the
  // lock, the scratch objects are merged into their slots (or counted late,
  // future, if the ring moved meanwhile). Scratch memory: at most one object
  // per slot of the ring, for the duration of the call.
  void fill(const double* values, const double* t, std::size_t n, double now) {
    check_clock(now);
    std::int64_t head;
    {
      Lock lock(mutex_);
      fold_locked();
      check_room(n);
      head = head_ == std::numeric_limits<std::int64_t>::min() ? slot_of(now) : std::max(head_, slot_of(now));
    }
    const std::int64_t oldest = head - std::int64_t(length_) + 1;
    ScratchSlots scratch(prototype_);
    std::uint64_t early = 0, old = 0;
    const auto run_end = active_kernels().run_end;
    for (std::size_t i = 0; i < n;) {
      if (std::isnan(t[i])) {
        throw std::invalid_argument("timestamps must not be NaN (index " + std::to_string(i) + ")");
      }
      const std::int64_t k = slot_of(t[i]);
      const double lo = lower_edge(k), hi = lower_edge(k + 1);
      // A run ends at the first timestamp outside the slot's exact edges (a
      // vectorized scan). Runs are cut at kPiece values so that reading the timestamps and
      // filling the values stream through the caches together.
      const std::size_t limit = std::min(n, i + kPiece);
      const std::size_t j = run_end(t, i + 1, limit, lo, hi);
      if (k > head + 1) {
        early += j - i;
      } else if (k < oldest) {
        old += j - i;
      } else {
        scratch.at(k).fill(values + i, j - i);
      }
      i = j;
    }
    Lock lock(mutex_);
    fold_locked();
    check_room(n);  // again: other calls may have counted meanwhile
    advance(now);
    total_ += n;
    future_ += early;
    late_ += old;
    for (auto& [k, part] : scratch.slots()) {
      if (k > head_ + 1) {
        future_ += count_of(part);
      } else if (k < head_ - std::int64_t(length_) + 1) {
        late_ += count_of(part);
      } else {
        slots_[position(k)].merge(part);
      }
    }
  }

  // Adds one value at time t. It is staged (see the class comment): checked
  // as fill() would check it, then kept with its time and clock reading and
  // counted, in order, when the stage is full or before any other member
  // reads or changes the window.
  DRIFTLINE_HOT void record(double value, double t, double now) {
    check_reading(t, now);
    Lock lock(mutex_);
    if (staged_ == kStageValues) count_staged();
    check_room(staged_ + 1);  // every staged value has room: counting them can never overflow
    stage_[staged_++] = StagedValue{value, t, now};
  }

  // Brings the lines record() touches into the caches (see prefetch.hpp):
  // the lock, the stage's size and the total (the stage's own slot is read
  // under the lock only, so its line is left to record()).
  void prefetch_record() const noexcept {
    prefetch_object(mutex_);
    prefetch_object(staged_);
    prefetch_object(total_);
  }

  // Throws what fill(values, n, t, now) would throw for its times (a NaN t, a
  // clock reading out of range), for callers that count later (a stage).
  static void check_reading(double t, double now) {
    check_time(t, "timestamp");
    check_clock(now);
  }

  // Moves the head with the clock (expiring slots) without adding anything.
  void advance_to(double now) {
    check_clock(now);
    Lock lock(mutex_);
    fold_locked();
    advance(now);
  }

  // A new T merging the slots whose end lies after now - last (all slots when
  // last is +inf), including the look-ahead slot.
  T merged(double last, double now) {
    check_clock(now);
    if (!(last >= 0.0)) throw std::invalid_argument("last must be a non-negative number of seconds");
    Lock lock(mutex_);
    fold_locked();
    advance(now);
    T out = prototype_;
    for (std::int64_t k = head_ - std::int64_t(length_) + 1; k <= head_ + 1; ++k) {
      if (std::isinf(last) || double(k + 1) * width_ > now - last) out.merge(slots_[position(k)]);
    }
    return out;
  }

  // (slot start time, copy) for the ring's slots, oldest first; the look-ahead
  // slot is included only when it holds something.
  std::vector<std::pair<double, T>> series(double now) {
    check_clock(now);
    Lock lock(mutex_);
    fold_locked();
    advance(now);
    std::vector<std::pair<double, T>> out;
    for (std::int64_t k = head_ - std::int64_t(length_) + 1; k <= head_ + 1; ++k) {
      const T& slot = slots_[position(k)];
      if (k == head_ + 1 && count_of(slot) == 0) continue;
      out.emplace_back(double(k) * width_, slot);
    }
    return out;
  }

  // Calls visit(slot id, slot) for the slots series() would return, oldest
  // first, under the lock after advancing to now: for readers that take a
  // little from every slot and must not copy the ring. `visit` must be short
  // and must not call back into this window (the lock is not recursive).
  template <typename Visit>
  void visit(double now, Visit&& visit) {
    check_clock(now);
    Lock lock(mutex_);
    fold_locked();
    advance(now);
    for (std::int64_t k = head_ - std::int64_t(length_) + 1; k <= head_ + 1; ++k) {
      const T& slot = slots_[position(k)];
      if (k == head_ + 1 && count_of(slot) == 0) continue;
      visit(k, slot);
    }
  }

  // Adds other's slots and counters, as if this window had seen other's events
  // as well (the way state from many processes adds up). Throws
  // std::invalid_argument unless width and length are equal and the
  // prototypes compatible. The head moves to the later of the two heads;
  // other's slots older than the resulting ring are counted in expired(), so
  // total() == slots + late + future + expired still holds. All or nothing:
  // every check (layout, and room below 2^64 for the summed total, which
  // bounds every other sum) comes before the first change.
  void merge(const Window& other) {
    const Window copy(other);  // a snapshot under other's lock only: no lock-order deadlock
    Lock lock(mutex_);
    fold_locked();
    if (copy.width_ != width_ || copy.length_ != length_) {
      throw std::invalid_argument("cannot merge windows of different width or length");
    }
    if (!compatible(prototype_, copy.prototype_)) {
      throw std::invalid_argument("cannot merge windows whose slots do not match");
    }
    check_room(copy.total_);
    if (copy.head_ != std::numeric_limits<std::int64_t>::min()) {
      advance_head(copy.head_);
      const std::int64_t oldest = head_ - std::int64_t(length_) + 1;
      for (std::int64_t k = copy.head_ - std::int64_t(length_) + 1; k <= copy.head_ + 1; ++k) {
        const T& slot = copy.slots_[copy.position(k)];
        if (count_of(slot) == 0) continue;
        if (k < oldest) {
          expired_ += count_of(slot);
          if (keep_expired_) expired_values_.merge(slot);
        } else {
          slots_[position(k)].merge(slot);
        }
      }
    }
    total_ += copy.total_;
    late_ += copy.late_;
    future_ += copy.future_;
    expired_ += copy.expired_;
    if (keep_expired_ && copy.keep_expired_) expired_values_.merge(copy.expired_values_);
  }

  // Replaces this window's contents with other's (a snapshot of it, taken
  // under other's lock only). For a container that keeps its own identity.
  void assign(const Window& other) {
    const Window copy(other);
    Lock lock(mutex_);
    fold_locked();
    copy_from(copy);
  }

  bool keeps_expired() const { return locked(keep_expired_); }

  // From now on, keep the values that leave the ring (a window decoded from a
  // format without them: what expired before stays in expired() only).
  void keep_expired() {
    Lock lock(mutex_);
    fold_locked();
    keep_expired_ = true;
  }

  // The values that left the ring since keep_expired was set (a copy).
  T expired_values() const { return locked(expired_values_); }

  // expired_values merged with every slot of the ring: everything the window
  // has held since keep_expired, at the clock reading now. Never loses a value
  // as the ring moves, so its counts only grow.
  T lifetime(double now) {
    check_clock(now);
    Lock lock(mutex_);
    fold_locked();
    advance(now);
    T out = expired_values_;
    for (const T& slot : slots_) out.merge(slot);
    return out;
  }

  std::uint64_t total() const { return locked(total_); }
  std::uint64_t late() const { return locked(late_); }
  std::uint64_t future() const { return locked(future_); }
  std::uint64_t expired() const { return locked(expired_); }
  // The head slot id, or INT64_MIN before the first clock reading.
  std::int64_t head() const { return locked(head_); }

  // Binary payload, version 2 (object type 3 in the envelope of serde.hpp):
  //
  //   offset  size  field
  //   ------  ----  ------------------------------------------------------------
  //        0     2  object type of the slots: 1 Histogram, 2 QuantileSketch
  //        2     2  flags: bit 0 keeps expired values; other bits zero
  //                 (version 1: reserved, zero)
  //        4     4  length L, 1 .. 2^20
  //        8     8  width in seconds, finite and > 0
  //       16     8  head slot id, int64 (INT64_MIN: no clock reading yet)
  //       24    32  total, late, future, expired (uint64 each)
  //       56     .  the prototype: uint32 size S, then S bytes (its own blob)
  //        .     .  with flag bit 0 only: the expired values, uint32 size, blob
  //        .     .  L + 1 slots, ids head - L + 1 .. head + 1: uint32 size, blob
  //
  // Decoding checks every nested blob, that every slot can merge with the
  // prototype, that total == slot contents + late + future + expired, and
  // that the expired values count at most expired.
  std::vector<std::uint8_t> to_bytes() const;
  static Window from_bytes(const std::uint8_t* data, std::size_t size);

  // For containers with their own slot encoding (FeatureWindow format 2):
  // uint32 length L, f64 width, int64 head, uint64 total, late, future,
  // expired, then write_slot(w, slot) for the L + 1 slots in to_bytes' order.
  template <typename WriteSlot>
  void write_compact(ByteWriter& w, WriteSlot write_slot) const {
    Lock lock(mutex_);
    fold_locked();
    w.u32(length_);
    w.f64(width_);
    w.u64(std::uint64_t(head_));
    for (std::uint64_t c : {total_, late_, future_, expired_}) w.u64(c);
    for (std::int64_t i = 0; i <= std::int64_t(length_); ++i) write_slot(w, slots_[stored_position(i)]);
  }

  // The inverse, with from_bytes' checks. read_slot(r, slot) fills a reset
  // copy of the prototype. The ring's memory ((L + 1) x slot_memory bytes) is
  // checked against check_decode_memory before anything is allocated, since
  // an empty slot may cost one byte of blob.
  template <typename ReadSlot>
  static Window read_compact(ByteReader& r, const T& prototype, std::size_t slot_memory, std::size_t blob_size,
                             ReadSlot read_slot) {
    const std::uint32_t length = r.u32("length");
    const double width = r.f64("width");
    if (length < 1 || length > max_length) throw decode_error("window length " + std::to_string(length) + " out of range");
    if (!(width >= min_slot_width) || !std::isfinite(width)) throw decode_error("window width out of range");
    const auto head = std::int64_t(r.u64("head"));
    std::uint64_t counters[4];
    for (std::uint64_t& c : counters) c = r.u64("window counter");
    const bool started = head != std::numeric_limits<std::int64_t>::min();
    if (started && (head > max_head_slot || head < -max_head_slot)) throw decode_error("head slot out of range");
    r.require(std::uint64_t(length) + 1, 1, "window slots");  // each slot is at least one byte
    check_decode_memory((std::uint64_t(length) + 1) * slot_memory, blob_size, "the window");
    Window w(prototype, width, length);
    w.head_ = head;
    w.total_ = counters[0];
    w.late_ = counters[1];
    w.future_ = counters[2];
    w.expired_ = counters[3];
    std::uint64_t held = 0;
    for (std::int64_t i = 0; i <= std::int64_t(length); ++i) {
      T& slot = w.slots_[w.stored_position(i)];
      read_slot(r, slot);
      const std::uint64_t c = count_of(slot);
      if (!started && c != 0) throw decode_error("a window without a clock reading holds values");
      if (held + c < held) throw decode_error("slot counts add up past 2^64 - 1");
      held += c;
    }
    w.check_accounting(held);
    return w;
  }

 private:
  static void check_time(double t, const char* what) {
    if (std::isnan(t)) throw std::invalid_argument(std::string(what) + " must not be NaN");
  }

  // A clock reading must be finite and give an exactly numbered head slot.
  static void check_clock(double now) {
    if (!(std::fabs(now) <= max_clock_seconds)) {
      throw std::invalid_argument("clock reading " + shortest(now) +
                                  " is not a time in seconds (readings must be finite, within 1e11 s of the epoch)");
    }
  }

  static std::string shortest(double x) {
    char text[32];
    std::snprintf(text, sizeof text, "%.9g", x);
    return text;
  }

  // Throws std::overflow_error unless total_ + n fits in 64 bits. Under the lock.
  void check_room(std::uint64_t n) const {
    if (total_ + n < total_) throw std::overflow_error("window total would exceed 2^64 - 1");
  }

  // The per-value-time fill's private objects, one per slot id it touched:
  // a short list searched linearly (runs revisit few slots), indexed by a hash
  // map once it grows, so each lookup is O(1) expected however many slots the
  // times span.
  class ScratchSlots {
   public:
    explicit ScratchSlots(const T& prototype) : prototype_(prototype) {}
    T& at(std::int64_t k) {
      if (last_ < slots_.size() && slots_[last_].first == k) return slots_[last_].second;
      if (slots_.size() <= kLinear) {
        for (last_ = 0; last_ < slots_.size(); ++last_) {
          if (slots_[last_].first == k) return slots_[last_].second;
        }
      } else {
        const auto found = index_.find(k);
        if (found != index_.end()) {
          last_ = found->second;
          return slots_[last_].second;
        }
      }
      last_ = slots_.size();
      slots_.emplace_back(k, prototype_);
      if (slots_.size() > kLinear) {
        if (index_.empty()) {
          for (std::size_t i = 0; i < slots_.size(); ++i) index_.emplace(slots_[i].first, i);
        } else {
          index_.emplace(k, last_);
        }
      }
      return slots_[last_].second;
    }
    std::vector<std::pair<std::int64_t, T>>& slots() noexcept { return slots_; }

   private:
    static constexpr std::size_t kLinear = 8;
    const T& prototype_;
    std::vector<std::pair<std::int64_t, T>> slots_;
    std::unordered_map<std::int64_t, std::size_t> index_;
    std::size_t last_ = 0;
  };

  std::int64_t slot_of(double t) const noexcept {
    const double k = std::floor(t / width_);
    // Far outside any ring: clamp, still classified as late or future.
    if (k > 9.0e15) return std::int64_t(9e15);
    if (k < -9.0e15) return std::int64_t(-9e15);
    return std::int64_t(k);
  }

  // The least double t with slot_of(t) >= k (so slot k is [lower_edge(k),
  // lower_edge(k + 1)) exactly, for the division-based slot_of). slot_of is
  // non-decreasing in t, so the edge is found by bisection over the doubles
  // in order: at most 64 steps whatever the width (a slot may span many
  // doubles around zero: with width 1e300, slot 0 starts near -2.5e-24). The
  // guess k * width is almost always the edge or one double off, so its
  // neighbours are tried first.
  double lower_edge(std::int64_t k) const noexcept {
    constexpr double inf = std::numeric_limits<double>::infinity();
    if (k >= std::int64_t(9e15)) return inf;
    if (k <= std::int64_t(-9e15)) return -inf;
    double c = double(k) * width_;
    for (int step = 0; step < 4; ++step) {
      if (slot_of(c) < k) {
        c = std::nextafter(c, inf);
        continue;
      }
      const double below = std::nextafter(c, -inf);
      if (slot_of(below) < k) return c;
      c = below;
    }
    std::uint64_t lo = ordered(-inf), hi = ordered(inf);  // slot_of(-inf) < k <= slot_of(+inf)
    while (hi - lo > 1) {
      const std::uint64_t mid = lo + (hi - lo) / 2;
      (slot_of(unordered(mid)) >= k ? hi : lo) = mid;
    }
    return unordered(hi);
  }

  // Doubles (not NaN) to unsigned integers in the same order, and back.
  static std::uint64_t ordered(double x) noexcept {
    std::uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    return (bits >> 63) ? ~bits : bits | (std::uint64_t(1) << 63);
  }
  static double unordered(std::uint64_t key) noexcept {
    const std::uint64_t bits = (key >> 63) ? key & ~(std::uint64_t(1) << 63) : ~key;
    double x;
    std::memcpy(&x, &bits, sizeof x);
    return x;
  }

  std::size_t position(std::int64_t k) const noexcept {
    const auto size = std::int64_t(length_) + 1;
    return std::size_t(((k % size) + size) % size);
  }

  static std::uint64_t count_of(const T& slot) { return values_in(slot); }

  // Where the i-th slot of the serialized order lives: slots head - L + 1 ..
  // head + 1, or simply i before the first clock reading.
  std::size_t stored_position(std::int64_t i) const noexcept {
    if (head_ == std::numeric_limits<std::int64_t>::min()) return std::size_t(i);
    return position(head_ - std::int64_t(length_) + 1 + i);
  }

  // Throws decode_error unless total == held + late + future + expired.
  void check_accounting(std::uint64_t held) const {
    std::uint64_t accounted = held;
    for (std::uint64_t c : {late_, future_, expired_}) {
      if (accounted + c < accounted) throw decode_error("counters add up past 2^64 - 1");
      accounted += c;
    }
    if (accounted != total_) throw decode_error("total does not equal slot contents + late + future + expired");
  }

  void advance(double now) { advance_head(slot_of(now)); }

  void advance_head(std::int64_t target) {
    // Values leaving the ring: counted in expired_, and kept (merged) when keep_expired_.
    if (head_ == std::numeric_limits<std::int64_t>::min()) {
      head_ = target;
      return;
    }
    if (target <= head_) return;  // a clock going backwards moves nothing
    const std::int64_t size = std::int64_t(length_) + 1;
    // Slots head - length + 1 .. target - length leave the ring; the look-ahead
    // slot head + 1 stays (it becomes an ordinary slot). At most `size` resets.
    const std::int64_t first_out = head_ - std::int64_t(length_) + 1;
    const std::int64_t last_out = std::min(target - std::int64_t(length_), head_ + 1);
    for (std::int64_t k = first_out; k <= last_out && k < first_out + size; ++k) {
      T& slot = slots_[position(k)];
      expired_ += count_of(slot);
      if (keep_expired_ && count_of(slot) != 0) expired_values_.merge(slot);
      slot.reset();
    }
    head_ = target;
  }

  // Whether slot k would hold a batch of n values at clock reading now, as of
  // this moment (the ring may move before the batch is added). Throws
  // std::overflow_error unless n fits below 2^64 - 1 in total, so that a
  // batch that must fail does so before it is counted.
  bool will_hold(std::int64_t k, std::size_t n, double now) const {
    Lock lock(mutex_);
    fold_locked();
    check_room(n);
    const std::int64_t head =
        head_ == std::numeric_limits<std::int64_t>::min() ? slot_of(now) : std::max(head_, slot_of(now));
    return k <= head + 1 && k >= head - std::int64_t(length_) + 1;
  }

  // add_run for values already counted into `part` (its count is n).
  Placed add_part(std::int64_t k, const T& part, std::size_t n) {
    const Placed placed = place(k, n);
    if (placed == Placed::slot) slots_[position(k)].merge(part);
    return placed;
  }

  // Where n values at slot k go; late and future ones are counted here.
  Placed place(std::int64_t k, std::size_t n) {
    if (k > head_ + 1) {
      future_ += n;
      return Placed::future;
    }
    if (k < head_ - std::int64_t(length_) + 1) {
      late_ += n;
      return Placed::late;
    }
    return Placed::slot;
  }

  // Precondition: advance() has set the head.
  template <typename Input>
  Placed add_run(std::int64_t k, const Input& values, std::size_t n) {
    const Placed placed = place(k, n);
    if (placed == Placed::slot) slots_[position(k)].fill(values, n);
    return placed;
  }

  // Counts the staged values (the caller holds the lock). Writes nothing when
  // none are staged, which is why the const members may call it: only
  // record(), which is not const, stages, so a window defined const never has
  // staged values and is never written.
  void fold_locked() const {
    if (staged_ != 0) const_cast<Window*>(this)->count_staged();
  }

  // Each staged value as fill(&value, 1, t, now) counts it under the lock; its
  // times were checked and its room in the total reserved when it was staged.
  void count_staged() {
    const std::size_t n = staged_;
    staged_ = 0;
    if constexpr (!std::is_same_v<T, FeatureBlock>) {  // FeatureBlock slots take rows: record() is not theirs
      for (std::size_t i = 0; i < n; ++i) {
        const StagedValue& v = stage_[i];
        advance(v.now);
        total_ += 1;
        const double* value = &v.value;
        add_run(slot_of(v.t), value, 1);
      }
    }
  }

  template <typename V>
  V locked(const V& v) const {
    Lock lock(mutex_);
    fold_locked();
    return v;
  }

  void copy_from(const Window& other) {
    width_ = other.width_;
    length_ = other.length_;
    slots_ = other.slots_;
    head_ = other.head_;
    total_ = other.total_;
    late_ = other.late_;
    future_ = other.future_;
    expired_ = other.expired_;
    expired_values_ = other.expired_values_;
    keep_expired_ = other.keep_expired_;
  }

  T prototype_;
  T expired_values_;  // merged contents of expired slots, kept only when keep_expired_
  double width_ = 1.0;
  std::uint32_t length_ = 1;
  std::vector<T> slots_;
  std::int64_t head_ = std::numeric_limits<std::int64_t>::min();
  std::uint64_t total_ = 0, late_ = 0, future_ = 0, expired_ = 0;
  bool keep_expired_ = false;
  // Values recorded one at a time and not yet counted, in call order (guarded
  // by mutex_, like everything else).
  struct StagedValue {
    double value, t, now;
  };
  StagedValue stage_[kStageValues];
  std::size_t staged_ = 0;
  mutable Mutex mutex_;
};

using HistogramWindow = Window<Histogram>;
using SketchWindow = Window<QuantileSketch>;

extern template class Window<Histogram>;
extern template class Window<QuantileSketch>;

}  // namespace driftline
