// driftline/crc32c.hpp -- CRC-32C (Castagnoli), as used by iSCSI, ext4 and
// Snappy framing. Reflected polynomial 0x82F63B78, initial value and final
// xor 0xFFFFFFFF; crc32c("123456789") == 0xE3069283. Detects every single-bit
// and every burst error up to 32 bits long.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace driftline {
namespace detail {

// Slicing-by-8 tables, built at compile time.
struct Crc32cTables {
  std::uint32_t t[8][256];
  constexpr Crc32cTables() : t{} {
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : (c >> 1);
      t[0][i] = c;
    }
    for (std::uint32_t i = 0; i < 256; ++i) {
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFFu];
    }
  }
};

inline constexpr Crc32cTables kCrc32cTables{};

}  // namespace detail

inline std::uint32_t crc32c(const std::uint8_t* data, std::size_t size) noexcept {
  const auto& t = detail::kCrc32cTables.t;
  std::uint32_t crc = 0xFFFFFFFFu;
  while (size >= 8) {
    const std::uint32_t lo = crc ^ (std::uint32_t(data[0]) | std::uint32_t(data[1]) << 8 |
                                    std::uint32_t(data[2]) << 16 | std::uint32_t(data[3]) << 24);
    crc = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
          t[3][data[4]] ^ t[2][data[5]] ^ t[1][data[6]] ^ t[0][data[7]];
    data += 8;
    size -= 8;
  }
  while (size-- > 0) crc = (crc >> 8) ^ t[0][(crc ^ *data++) & 0xFFu];
  return crc ^ 0xFFFFFFFFu;
}

}  // namespace driftline
