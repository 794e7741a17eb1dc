// Value -> slot kernels. This file is compiled once per ISA variant with
// DRIFTLINE_KERNEL_NS set to the variant's namespace (scalar, avx2, avx512), so
// it must stay free of inline functions shared with other translation units
// (an AVX-512 copy of a shared inline function could be picked by the linker
// for baseline code). Everything here lives in the variant's own namespace.
//
// The loops are written for the auto-vectorizer: branch-free bodies, selects
// instead of branches, and a per-block "needs exact recheck" flag.
#include <cstddef>
#include <cstdint>

#include "driftline/kernels.hpp"

#include "kernel_isa.hpp"

namespace driftline {
namespace kernels {
namespace DRIFTLINE_KERNEL_NS {
namespace {

constexpr std::size_t kBlock = 64;

// Same rule as driftline::correct_slot, duplicated on purpose: see the file comment.
std::uint32_t exact_uniform_slot(double x, std::uint32_t slot, const double* edges,
                                 std::uint32_t bins) {
  while (slot > 0 && x < edges[slot - 1]) --slot;
  while (slot <= bins && x >= edges[slot]) ++slot;
  return slot;
}

template <std::uint32_t N>
void variable_unrolled(const double* x, std::size_t n, const double* padded,
                       std::uint32_t nan_slot, std::uint32_t* out) {
  double e[N];
  for (std::uint32_t j = 0; j < N; ++j) e[j] = padded[j];
  for (std::size_t i = 0; i < n; ++i) {
    const double v = x[i];
    std::uint32_t count = 0;
#pragma GCC unroll 64
    for (std::uint32_t j = 0; j < N; ++j) count += (v >= e[j]) ? 1u : 0u;
    out[i] = (v != v) ? nan_slot : count;
  }
}

void variable_search(const double* x, std::size_t n, const double* edges, std::uint32_t n_edges,
                     std::uint32_t nan_slot, std::uint32_t* out) {
  for (std::size_t i = 0; i < n; ++i) {
    const double v = x[i];
    // Branch-free upper_bound: count of edges <= v.
    const double* base = edges;
    std::uint32_t len = n_edges;
    while (len > 1) {
      const std::uint32_t half = len / 2;
      base = (base[half - 1] <= v) ? base + half : base;
      len -= half;
    }
    const std::uint32_t count = std::uint32_t(base - edges) + ((base[0] <= v) ? 1u : 0u);
    out[i] = (v != v) ? nan_slot : count;
  }
}

}  // namespace

void uniform_slots_portable(const double* x, std::size_t n, const UniformSlotParams& p,
                            std::uint32_t* out) {
  const double lo = p.lo;
  const double scale = p.scale;
  const double lower = -0.5;
  const double upper = double(p.bins) + 0.5;
  const double tol_low = p.tolerance;
  const double tol_high = 1.0 - p.tolerance;
  const std::int32_t nan_slot = std::int32_t(p.bins) + 2;
  auto* slots = reinterpret_cast<std::int32_t*>(out);
  for (std::size_t start = 0; start < n; start += kBlock) {
    const std::size_t m = (n - start < kBlock) ? n - start : kBlock;
    const double* xb = x + start;
    std::int32_t* ob = slots + start;
    int near_any = 0;
    for (std::size_t i = 0; i < m; ++i) {
      const double v = xb[i];
      double t = (v - lo) * scale;
      // Clamping to [-0.5, bins + 0.5] keeps far values (and infinities) a half
      // slot away from any boundary, so only genuinely close values are rechecked.
      t = (t > lower) ? t : lower;  // NaN becomes `lower` here; fixed below
      t = (t < upper) ? t : upper;
      const double u = t + 1.0;
      const std::int32_t s = std::int32_t(u);  // u >= 0.5, so truncation is floor
      const double frac = u - double(s);
      const bool is_nan = v != v;
      const bool near = (frac < tol_low) | (frac > tol_high);
      near_any |= int(near & !is_nan);
      ob[i] = is_nan ? nan_slot : s;
    }
    if (near_any) {
      for (std::size_t i = 0; i < m; ++i) {
        const double v = xb[i];
        if (v != v) continue;
        ob[i] = std::int32_t(exact_uniform_slot(v, std::uint32_t(ob[i]), p.edges, p.bins));
      }
    }
  }
}

void uniform_slots(const double* x, std::size_t n, const UniformSlotParams& p, std::uint32_t* out) {
#if defined(DRIFTLINE_KERNEL_AVX512)
  // Same arithmetic as the portable loop, eight lanes at a time; blocks of 64
  // values share one "recheck" mask.
  const __m512d lo = _mm512_set1_pd(p.lo);
  const __m512d scale = _mm512_set1_pd(p.scale);
  const __m512d lower = _mm512_set1_pd(-0.5);
  const __m512d upper = _mm512_set1_pd(double(p.bins) + 0.5);
  const __m512d one = _mm512_set1_pd(1.0);
  const __m512d tol_low = _mm512_set1_pd(p.tolerance);
  const __m512d tol_high = _mm512_set1_pd(1.0 - p.tolerance);
  const __m256i nan_slot = _mm256_set1_epi32(std::int32_t(p.bins) + 2);
  const std::size_t whole = n - n % 64;
  for (std::size_t start = 0; start < whole; start += 64) {
    __mmask8 recheck = 0;
    for (std::size_t k = start; k < start + 64; k += 8) {
      const __m512d v = _mm512_loadu_pd(x + k);
      __m512d t = _mm512_mul_pd(_mm512_sub_pd(v, lo), scale);
      t = _mm512_max_pd(t, lower);  // maxpd returns its second operand for NaN
      t = _mm512_min_pd(t, upper);
      const __m512d u = _mm512_add_pd(t, one);
      __m256i slot = _mm512_cvttpd_epi32(u);  // u >= 0.5: truncation is floor
      const __m512d frac = _mm512_sub_pd(u, _mm512_cvtepi32_pd(slot));
      const __mmask8 is_nan = _mm512_cmp_pd_mask(v, v, _CMP_UNORD_Q);
      const __mmask8 near = _mm512_cmp_pd_mask(frac, tol_low, _CMP_LT_OQ) |
                            _mm512_cmp_pd_mask(frac, tol_high, _CMP_GT_OQ);
      recheck = __mmask8(recheck | (near & __mmask8(~is_nan)));
      slot = _mm256_mask_mov_epi32(slot, is_nan, nan_slot);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + k), slot);
    }
    if (recheck) {
      for (std::size_t i = start; i < start + 64; ++i) {
        const double v = x[i];
        if (v == v) out[i] = exact_uniform_slot(v, out[i], p.edges, p.bins);
      }
    }
  }
  uniform_slots_portable(x + whole, n - whole, p, out + whole);
#else
  uniform_slots_portable(x, n, p, out);
#endif
}

void variable_slots(const double* x, std::size_t n, const VariableSlotParams& p, std::uint32_t* out) {
  const std::uint32_t nan_slot = p.n_edges + 1;  // bins + 2 with bins = n_edges - 1
  switch (p.n_padded) {
    case 4: return variable_unrolled<4>(x, n, p.padded, nan_slot, out);
    case 8: return variable_unrolled<8>(x, n, p.padded, nan_slot, out);
    case 16: return variable_unrolled<16>(x, n, p.padded, nan_slot, out);
    case 32: return variable_unrolled<32>(x, n, p.padded, nan_slot, out);
    default: return variable_search(x, n, p.edges, p.n_edges, nan_slot, out);
  }
}

#if defined(DRIFTLINE_KERNEL_AVX512)
namespace {
// All N edge counters live in registers; each edge costs one compare (edge
// broadcast from memory) and one masked increment per eight values.
template <std::uint32_t N>
inline void cumulative_step(__m512d v, __mmask8 lanes, __m512i* counts, const double* edges) {
  const __m512i minus_one = _mm512_set1_epi64(-1);
#pragma GCC unroll 16
  for (std::uint32_t j = 0; j < N; ++j) {
    const __mmask8 ge = _mm512_mask_cmp_pd_mask(lanes, v, _mm512_set1_pd(edges[j]), _CMP_GE_OQ);
    counts[j] = _mm512_mask_sub_epi64(counts[j], ge, counts[j], minus_one);
  }
  const __mmask8 nan = _mm512_mask_cmp_pd_mask(lanes, v, v, _CMP_UNORD_Q);
  counts[N] = _mm512_mask_sub_epi64(counts[N], nan, counts[N], minus_one);
}

template <std::uint32_t N>
void cumulative_avx512(const double* x, std::size_t n, const double* edges, std::uint64_t* at_least) {
  __m512i counts[N + 1];
  for (std::uint32_t j = 0; j <= N; ++j) counts[j] = _mm512_setzero_si512();
  const std::size_t whole = n - n % 8;
  for (std::size_t i = 0; i < whole; i += 8) {
    cumulative_step<N>(_mm512_loadu_pd(x + i), __mmask8(0xFF), counts, edges);
  }
  if (whole < n) {
    const auto lanes = __mmask8((1u << (n - whole)) - 1u);
    cumulative_step<N>(_mm512_maskz_loadu_pd(lanes, x + whole), lanes, counts, edges);
  }
  for (std::uint32_t j = 0; j <= N; ++j) {
    at_least[j] += std::uint64_t(_mm512_reduce_add_epi64(counts[j]));
  }
}
}  // namespace
#endif

void cumulative_counts(const double* x, std::size_t n, const double* edges, std::uint32_t n_edges,
                       std::uint64_t* at_least) {
#if defined(DRIFTLINE_KERNEL_AVX512)
  switch (n_edges) {
#define DRIFTLINE_CASE(k) \
  case k: return cumulative_avx512<k>(x, n, edges, at_least);
    DRIFTLINE_CASE(2) DRIFTLINE_CASE(3) DRIFTLINE_CASE(4) DRIFTLINE_CASE(5) DRIFTLINE_CASE(6)
    DRIFTLINE_CASE(7) DRIFTLINE_CASE(8) DRIFTLINE_CASE(9) DRIFTLINE_CASE(10) DRIFTLINE_CASE(11)
    DRIFTLINE_CASE(12) DRIFTLINE_CASE(13) DRIFTLINE_CASE(14) DRIFTLINE_CASE(15) DRIFTLINE_CASE(16)
#undef DRIFTLINE_CASE
    default: break;
  }
#endif
  // One pass per edge over an L1-resident block: each pass is a branch-free
  // compare-and-add reduction, which vectorizes at every ISA, and no counter
  // is ever scattered to. NaN compares false against every edge.
  constexpr std::size_t kPassBlock = 512;
  for (std::size_t start = 0; start < n; start += kPassBlock) {
    const std::size_t m = (n - start < kPassBlock) ? n - start : kPassBlock;
    const double* xb = x + start;
    for (std::uint32_t j = 0; j < n_edges; ++j) {
      const double e = edges[j];
      std::uint64_t count = 0;
      for (std::size_t i = 0; i < m; ++i) count += (xb[i] >= e) ? 1u : 0u;
      at_least[j] += count;
    }
    std::uint64_t nan_count = 0;
    for (std::size_t i = 0; i < m; ++i) nan_count += (xb[i] != xb[i]) ? 1u : 0u;
    at_least[n_edges] += nan_count;
  }
}

std::size_t collect_inside(const double* x, std::size_t n, const double* lo, const double* hi, std::uint32_t m,
                           double* out) {
  // Membership is a vectorizable OR of interval tests over an L1-resident
  // block; the compaction stores every value and advances only past members,
  // so nothing branches on the data. NaN is never inside (ordered compares).
  constexpr std::size_t kMemberBlock = 256;
  std::uint8_t inside[kMemberBlock];
  std::size_t written = 0;
  for (std::size_t start = 0; start < n; start += kMemberBlock) {
    const std::size_t b = (n - start < kMemberBlock) ? n - start : kMemberBlock;
    const double* xb = x + start;
    for (std::size_t i = 0; i < b; ++i) inside[i] = 0;
    for (std::uint32_t j = 0; j < m; ++j) {
      const double l = lo[j], h = hi[j];
      for (std::size_t i = 0; i < b; ++i) inside[i] |= std::uint8_t((xb[i] >= l) & (xb[i] <= h));
    }
    for (std::size_t i = 0; i < b; ++i) {
      out[written] = xb[i];
      written += inside[i];
    }
  }
  return written;
}

std::size_t run_end(const double* t, std::size_t begin, std::size_t end, double lo, double hi) {
  std::size_t j = begin;
#if defined(DRIFTLINE_KERNEL_AVX512)
  const __m512d vlo = _mm512_set1_pd(lo), vhi = _mm512_set1_pd(hi);
  for (; j + 8 <= end; j += 8) {
    const __m512d x = _mm512_loadu_pd(t + j);
    // Ordered compares: NaN is never inside.
    const __mmask8 inside = _mm512_cmp_pd_mask(x, vlo, _CMP_GE_OQ) & _mm512_cmp_pd_mask(x, vhi, _CMP_LT_OQ);
    if (inside != 0xFF) return j + std::size_t(__builtin_ctz(unsigned(~inside) & 0xFFu));
  }
#endif
  while (j < end && t[j] >= lo && t[j] < hi) ++j;
  return j;
}

void extremes(const double* x, std::size_t n, double* lo, double* hi) {
  std::size_t i = 0;
  double l = *lo, h = *hi;
#if defined(DRIFTLINE_KERNEL_AVX512)
  // min_pd(a, b) is a < b ? a : b, so a NaN in x (first operand) never wins.
  __m512d vl0 = _mm512_set1_pd(l), vl1 = vl0, vh0 = _mm512_set1_pd(h), vh1 = vh0;
  for (; i + 16 <= n; i += 16) {
    const __m512d a = _mm512_loadu_pd(x + i), b = _mm512_loadu_pd(x + i + 8);
    vl0 = _mm512_min_pd(a, vl0);
    vl1 = _mm512_min_pd(b, vl1);
    vh0 = _mm512_max_pd(a, vh0);
    vh1 = _mm512_max_pd(b, vh1);
  }
  l = _mm512_reduce_min_pd(_mm512_min_pd(vl0, vl1));
  h = _mm512_reduce_max_pd(_mm512_max_pd(vh0, vh1));
#else
  // Independent lanes without data-dependent branches; NaN compares false.
  constexpr std::size_t kLanes = 4;
  double ls[kLanes] = {l, l, l, l}, hs[kLanes] = {h, h, h, h};
  for (; i + kLanes <= n; i += kLanes) {
    for (std::size_t k = 0; k < kLanes; ++k) {
      ls[k] = x[i + k] < ls[k] ? x[i + k] : ls[k];
      hs[k] = x[i + k] > hs[k] ? x[i + k] : hs[k];
    }
  }
  for (std::size_t k = 0; k < kLanes; ++k) {
    l = ls[k] < l ? ls[k] : l;
    h = hs[k] > h ? hs[k] : h;
  }
#endif
  for (; i < n; ++i) {
    l = x[i] < l ? x[i] : l;
    h = x[i] > h ? x[i] : h;
  }
  *lo = l;
  *hi = h;
}

}  // namespace DRIFTLINE_KERNEL_NS
}  // namespace kernels
}  // namespace driftline
