// driftline/serde.hpp -- the binary envelope shared by every serializable object.
//
// All integers are little-endian, all floating-point values IEEE-754 binary64.
//
//   offset  size  field
//   ------  ----  -------------------------------------------------------------
//        0     4  magic "DRFL"
//        4     2  format version of the object type (current_version below)
//        6     2  object type (ObjectType below)
//        8     8  payload size P in bytes
//       16     P  payload, laid out by the object type (see its header)
//   16 + P     4  CRC-32C of bytes [0, 16 + P)
//
// Decoding is a security boundary. The reader checks, in this order: the blob
// holds at least a header and a checksum; magic; version; object type; that P
// equals exactly the bytes present (so no length in the blob can ask for more
// memory than the blob itself occupies); the checksum; then every field of the
// payload with bounds-checked reads, and that the payload is consumed exactly.
// Any failure throws driftline::decode_error before the caller's state changes.
//
// Version policy: each object type has its own format version. Writers write
// the current version of their type; readers accept every version from 1 up
// to their own and refuse newer ones with a clear message. A layout change
// that an older reader would misread bumps the version of that type only; the
// golden files under tests/golden of every version must keep decoding.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "driftline/crc32c.hpp"
#include "driftline/errors.hpp"

namespace driftline {

enum class ObjectType : std::uint16_t {
  histogram = 1,
  quantile_sketch = 2,
  window = 3,
  feature_block = 4,
  feature_window = 5,
  profile = 6,  // written by the Python layer (driftline.Profile)
  monitor = 7,  // written by the Python layer (driftline.Monitor)
};

inline const char* object_type_name(std::uint16_t type) {
  switch (type) {
    case 1: return "Histogram";
    case 2: return "QuantileSketch";
    case 3: return "Window";
    case 4: return "FeatureBlock";
    case 5: return "FeatureWindow";
    case 6: return "Profile";
    case 7: return "Monitor";
    default: return "unknown";
  }
}

inline constexpr std::uint8_t kMagic[4] = {'D', 'R', 'F', 'L'};

// The version this build writes (and the newest it reads) for each type.
//   FeatureWindow 2: axes once per window, counts as varints with zero runs.
//   Monitor 2: the profile referenced by fingerprint (or embedded), see monitor codec.
//   Profile 2: seasonal profiles (version 1 is still written for the others).
//   Window 2: the flags field (bit 0: the expired values kept, written after the prototype).
inline std::uint16_t current_version(std::uint16_t type) {
  return type == std::uint16_t(ObjectType::feature_window) || type == std::uint16_t(ObjectType::monitor) ||
                 type == std::uint16_t(ObjectType::profile) || type == std::uint16_t(ObjectType::window)
             ? 2
             : 1;
}
inline constexpr std::size_t kHeaderSize = 16;
inline constexpr std::size_t kChecksumSize = 4;

// Appends little-endian fields to a byte vector.
class ByteWriter {
 public:
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { put(v, 2); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void f64(double v) {
    std::uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    u64(bits);
  }
  // LEB128: 7 bits a byte, low first; 1 byte below 128, at most 10.
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(std::uint8_t(v | 0x80));
      v >>= 7;
    }
    out_.push_back(std::uint8_t(v));
  }
  std::vector<std::uint8_t>& bytes() noexcept { return out_; }

 private:
  void put(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(std::uint8_t(v >> (8 * i)));
  }
  std::vector<std::uint8_t> out_;
};

// Reads little-endian fields from untrusted bytes; every read is bounds-checked.
class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  std::uint8_t u8(const char* field) { return std::uint8_t(get(1, field)); }
  std::uint16_t u16(const char* field) { return std::uint16_t(get(2, field)); }
  std::uint32_t u32(const char* field) { return std::uint32_t(get(4, field)); }
  std::uint64_t u64(const char* field) { return get(8, field); }
  double f64(const char* field) {
    const std::uint64_t bits = get(8, field);
    double v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  // A varint as ByteWriter::varint writes it; refuses overlong encodings and
  // values past 2^64 - 1, so every value has exactly one encoding.
  std::uint64_t varint(const char* field) {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (remaining() == 0) throw decode_error(std::string("truncated while reading ") + field);
      const std::uint8_t byte = data_[pos_++];
      if (shift == 63 && byte > 1) throw decode_error(std::string(field) + " does not fit in 64 bits");
      v |= std::uint64_t(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        if (byte == 0 && shift != 0) throw decode_error(std::string(field) + " has an overlong encoding");
        return v;
      }
    }
    throw decode_error(std::string(field) + " does not fit in 64 bits");
  }
  std::size_t remaining() const noexcept { return size_ - pos_; }
  std::size_t size() const noexcept { return size_; }
  // The unread bytes start here; skip() moves past `count` of them (checked).
  const std::uint8_t* cursor() const noexcept { return data_ + pos_; }
  void skip(std::size_t count, const char* what) {
    if (count > remaining()) throw decode_error(std::string("truncated while reading ") + what);
    pos_ += count;
  }
  // Throws unless `count` items of `item_size` bytes are still available; call
  // before allocating for them, so a forged count cannot trigger a huge allocation.
  void require(std::uint64_t count, std::size_t item_size, const char* what) const {
    if (count > remaining() / item_size) {
      throw decode_error(std::string(what) + ": " + std::to_string(count) + " items of " +
                         std::to_string(item_size) + " bytes do not fit in the " +
                         std::to_string(remaining()) + " bytes left");
    }
  }
  void expect_end(const char* what) const {
    if (remaining() != 0) {
      throw decode_error(std::string(what) + ": " + std::to_string(remaining()) +
                         " unexpected trailing bytes");
    }
  }

 private:
  std::uint64_t get(int n, const char* field) {
    if (remaining() < std::size_t(n)) {
      throw decode_error(std::string("truncated while reading ") + field);
    }
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= std::uint64_t(data_[pos_ + std::size_t(i)]) << (8 * i);
    pos_ += std::size_t(n);
    return v;
  }
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// Decoders whose memory is not bounded by the blob's own bytes (compact
// formats, where an empty slot costs one byte) refuse states that would need
// more than max(kDecodeMemoryFloor, kDecodeMemoryFactor x blob size) bytes.
inline constexpr std::uint64_t kDecodeMemoryFloor = std::uint64_t(256) << 20;
inline constexpr std::uint64_t kDecodeMemoryFactor = 64;

inline void check_decode_memory(std::uint64_t needed, std::size_t blob_size, const char* what) {
  const std::uint64_t budget = std::max<std::uint64_t>(kDecodeMemoryFloor, kDecodeMemoryFactor * blob_size);
  if (needed > budget) {
    throw decode_error(std::string(what) + " would need " + std::to_string(needed) +
                       " bytes of memory, more than this decoder accepts for a blob of " + std::to_string(blob_size) +
                       " bytes");
  }
}

// Wraps a payload in the envelope (version 0: the type's current version).
inline std::vector<std::uint8_t> seal(ObjectType type, const std::vector<std::uint8_t>& payload,
                                      std::uint16_t version = 0) {
  ByteWriter w;
  for (std::uint8_t b : kMagic) w.u8(b);
  w.u16(version == 0 ? current_version(std::uint16_t(type)) : version);
  w.u16(std::uint16_t(type));
  w.u64(payload.size());
  auto& out = w.bytes();
  out.insert(out.end(), payload.begin(), payload.end());
  w.u32(crc32c(out.data(), out.size()));
  return std::move(out);
}

// Checks the envelope and returns a reader over the payload; *version_out
// (when given) receives the blob's version, 1 .. current_version(expected).
inline ByteReader open(ObjectType expected, const std::uint8_t* data, std::size_t size,
                       std::uint16_t* version_out = nullptr) {
  if (size < kHeaderSize + kChecksumSize) {
    throw decode_error("blob of " + std::to_string(size) + " bytes is shorter than the " +
                       std::to_string(kHeaderSize + kChecksumSize) + "-byte envelope");
  }
  if (std::memcmp(data, kMagic, sizeof kMagic) != 0) {
    throw decode_error("bad magic: not a driftline blob");
  }
  ByteReader header(data + 4, kHeaderSize - 4);
  const std::uint16_t version = header.u16("format version");
  const std::uint16_t type = header.u16("object type");
  if (type != std::uint16_t(expected)) {
    throw decode_error(std::string("blob holds object type ") + std::to_string(type) + " (" +
                       object_type_name(type) + "), expected " +
                       object_type_name(std::uint16_t(expected)));
  }
  const std::uint16_t newest = current_version(type);
  if (version < 1 || version > newest) {
    throw decode_error("unsupported format version " + std::to_string(version) + " of " +
                       object_type_name(type) + " (this build reads versions 1 to " + std::to_string(newest) + ")");
  }
  const std::uint64_t payload_size = header.u64("payload size");
  if (payload_size != size - kHeaderSize - kChecksumSize) {
    throw decode_error("payload size field says " + std::to_string(payload_size) +
                       " bytes but the blob carries " +
                       std::to_string(size - kHeaderSize - kChecksumSize));
  }
  ByteReader trailer(data + size - kChecksumSize, kChecksumSize);
  const std::uint32_t stored = trailer.u32("checksum");
  const std::uint32_t computed = crc32c(data, size - kChecksumSize);
  if (stored != computed) throw decode_error("checksum mismatch: the blob is corrupted");
  if (version_out != nullptr) *version_out = version;
  return ByteReader(data + kHeaderSize, std::size_t(payload_size));
}

}  // namespace driftline
