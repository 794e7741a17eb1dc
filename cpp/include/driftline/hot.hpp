// DRIFTLINE_HOT marks the functions of the per-request paths (a row's
// observe, the latency timer).
//
// Why: in a server those calls run after the service's other work has
// evicted driftline's code from the instruction caches and TLB; each code
// page they touch then costs a page walk and each line a miss. Compilers put
// functions marked hot in one section (.text.hot) that the linker keeps
// together, so the paths' code shares a few pages instead of spreading over
// the module.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define DRIFTLINE_HOT __attribute__((hot))
#else
#define DRIFTLINE_HOT
#endif

// DRIFTLINE_COLD marks what those paths call only on errors and rare inputs
// (argument errors, leftovers for Python, the general cases). Compilers move
// cold functions, and the branches that lead to them, out of the hot code,
// so a request's own path is a few contiguous lines instead of being
// interleaved with code it never runs.
#if defined(__GNUC__) || defined(__clang__)
#define DRIFTLINE_COLD __attribute__((cold, noinline))
#define DRIFTLINE_LIKELY(x) __builtin_expect(!!(x), 1)
#define DRIFTLINE_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define DRIFTLINE_COLD
#define DRIFTLINE_LIKELY(x) (x)
#define DRIFTLINE_UNLIKELY(x) (x)
#endif
