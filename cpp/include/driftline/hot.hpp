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
