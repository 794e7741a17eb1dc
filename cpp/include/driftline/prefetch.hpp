// Prefetching the cache lines a call is about to touch.
//
// Why: a service makes its per-request calls (the latency timer, the row's
// observe) between pieces of its own work, which evict driftline's state from
// the caches; each call then waits for its lines one miss after another. The
// timer's start, the first call of a request, asks for the lines the later
// calls will touch, and the service's own work (its model) hides their latency.
#pragma once

#include <cstddef>

namespace driftline {

constexpr std::size_t kCacheLine = 64;

// Asks the CPU to bring the lines of [p, p + bytes) into its caches, for
// writing, without waiting for them. A hint: it never faults, whatever p is.
inline void prefetch_lines(const void* p, std::size_t bytes) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  const char* first = static_cast<const char*>(p);
  for (std::size_t i = 0; i < bytes; i += kCacheLine) __builtin_prefetch(first + i, 1, 3);
  if (bytes > 1) __builtin_prefetch(first + bytes - 1, 1, 3);
#else
  (void)p;
  (void)bytes;
#endif
}

template <class T>
inline void prefetch_object(const T& object) noexcept {
  prefetch_lines(&object, sizeof(T));
}

}  // namespace driftline
