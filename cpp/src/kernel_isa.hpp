// Internal to the *_kernels.cpp translation units: which ISA this copy is built for.
//
// Each kernel file is compiled once per variant with DRIFTLINE_KERNEL_NS naming
// the variant's namespace; the AVX-512 copy also gets hand-written intrinsics.
// GCC's intrinsics are gnu_inline and never emitted out of line, so including
// them cannot leak AVX-512 code into other translation units.
#pragma once

#ifndef DRIFTLINE_KERNEL_NS
#error "DRIFTLINE_KERNEL_NS must name the ISA variant"
#endif

#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512VL__)
#include <immintrin.h>
#define DRIFTLINE_KERNEL_AVX512 1
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*(), which its
// -W(maybe-)uninitialized reports at every inlined call site; a false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#endif
