#include "driftline/window.hpp"

namespace driftline {
namespace {

template <typename T>
ObjectType object_type_of();
template <>
ObjectType object_type_of<Histogram>() { return ObjectType::histogram; }
template <>
ObjectType object_type_of<QuantileSketch>() { return ObjectType::quantile_sketch; }
template <>
ObjectType object_type_of<FeatureBlock>() { return ObjectType::feature_block; }

void put_blob(ByteWriter& w, const std::vector<std::uint8_t>& blob) {
  w.u32(std::uint32_t(blob.size()));
  for (std::uint8_t b : blob) w.u8(b);
}

// Decodes one nested blob (uint32 size, then the bytes) with T's own checks.
template <typename T>
T take_blob(ByteReader& r) {
  const std::uint32_t length = r.u32("nested blob size");
  r.require(length, 1, "nested blob");
  T value = T::from_bytes(r.cursor(), length);
  r.skip(length, "nested blob");
  return value;
}

}  // namespace

template <typename T>
std::vector<std::uint8_t> Window<T>::to_bytes() const {
  Lock lock(mutex_);
  fold_locked();
  ByteWriter w;
  w.u16(std::uint16_t(object_type_of<T>()));
  w.u16(keep_expired_ ? 1 : 0);
  w.u32(length_);
  w.f64(width_);
  w.u64(std::uint64_t(head_));
  w.u64(total_);
  w.u64(late_);
  w.u64(future_);
  w.u64(expired_);
  put_blob(w, prototype_.to_bytes());
  if (keep_expired_) put_blob(w, expired_values_.to_bytes());
  for (std::int64_t i = 0; i <= std::int64_t(length_); ++i) put_blob(w, slots_[stored_position(i)].to_bytes());
  return seal(ObjectType::window, w.bytes());
}

template <typename T>
Window<T> Window<T>::from_bytes(const std::uint8_t* data, std::size_t size) {
  std::uint16_t version = 1;
  ByteReader r = open(ObjectType::window, data, size, &version);
  const std::uint16_t type = r.u16("slot object type");
  if (type != std::uint16_t(object_type_of<T>())) {
    throw decode_error(std::string("window holds ") + object_type_name(type) + " slots, expected " +
                       object_type_name(std::uint16_t(object_type_of<T>())));
  }
  const std::uint16_t flags = r.u16("flags");
  if (version == 1 ? flags != 0 : (flags & ~1u) != 0) throw decode_error("unknown window flags");
  const bool keep_expired = (flags & 1u) != 0;
  const std::uint32_t length = r.u32("length");
  const double width = r.f64("width");
  if (length < 1 || length > max_length) throw decode_error("window length " + std::to_string(length) + " out of range");
  if (!(width >= min_slot_width) || !std::isfinite(width)) throw decode_error("window width out of range");
  const auto head = std::int64_t(r.u64("head"));
  const std::uint64_t total = r.u64("total"), late = r.u64("late"), future = r.u64("future"),
                      expired = r.u64("expired");
  // Each slot needs at least its 4-byte size field: refuse absurd lengths before allocating.
  r.require(std::uint64_t(length) + 2, 4, "window slots");
  T prototype = take_blob<T>(r);
  check_decode_memory((std::uint64_t(length) + 2) * slot_memory(prototype), size, "the window");
  Window w(prototype, width, length, keep_expired);
  if (keep_expired) {
    T kept = take_blob<T>(r);
    if (!compatible(w.prototype_, kept)) throw decode_error("the expired values do not match the window's prototype");
    if (count_of(kept) > expired) throw decode_error("the expired values count more than expired");
    w.expired_values_ = std::move(kept);
  }
  w.head_ = head;
  w.total_ = total;
  w.late_ = late;
  w.future_ = future;
  w.expired_ = expired;
  const bool started = head != std::numeric_limits<std::int64_t>::min();
  if (started && (head > max_head_slot || head < -max_head_slot)) throw decode_error("head slot out of range");
  std::uint64_t held = 0;
  for (std::int64_t i = 0; i <= std::int64_t(length); ++i) {
    T slot = take_blob<T>(r);
    if (!compatible(w.prototype_, slot)) throw decode_error("a slot does not match the window's prototype");
    const std::uint64_t c = count_of(slot);
    if (!started && c != 0) throw decode_error("a window without a clock reading holds values");
    if (held + c < held) throw decode_error("slot counts add up past 2^64 - 1");
    held += c;
    w.slots_[w.stored_position(i)] = std::move(slot);
  }
  r.expect_end("window payload");
  w.check_accounting(held);
  return w;
}

template class Window<Histogram>;
template class Window<QuantileSketch>;
// Feature windows are filled through FeatureRows only (no per-value
// timestamps), so only their serialization is compiled here.
template std::vector<std::uint8_t> Window<FeatureBlock>::to_bytes() const;
template Window<FeatureBlock> Window<FeatureBlock>::from_bytes(const std::uint8_t*, std::size_t);

}  // namespace driftline
