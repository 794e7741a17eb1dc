// driftline/time_range.hpp -- which clock readings and slot widths the core accepts.
#pragma once

#include <cstdint>

namespace driftline {

// The largest |clock reading| taken for seconds since the epoch (about the
// year 5138). A clock in milliseconds, microseconds or nanoseconds reads beyond
// it today, and is refused rather than taken for seconds.
inline constexpr double max_clock_seconds = 1e11;

// The largest |slot number| a clock reading may give: every integer up to 2^53
// is an exact double, so slot numbers and their arithmetic stay exact.
inline constexpr std::int64_t max_head_slot = std::int64_t(1) << 52;

// The narrowest slot (about 22 us): with it, every accepted clock reading has
// an exact slot number (max_clock_seconds / min_slot_width <= max_head_slot).
inline constexpr double min_slot_width = max_clock_seconds / double(max_head_slot);

}  // namespace driftline
