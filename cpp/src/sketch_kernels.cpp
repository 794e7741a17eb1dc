// The quantile sketch's block kernel: classify, index, and summarize values.
// Compiled once per ISA variant (see slot_kernels.cpp for the rules).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cmath>
#include <cstring>

#include "driftline/kernels.hpp"

#include "kernel_isa.hpp"

namespace driftline {
namespace kernels {
namespace DRIFTLINE_KERNEL_NS {
namespace {

constexpr std::uint64_t kSignMask = std::uint64_t(1) << 63;
constexpr std::uint64_t kMantissaMask = (std::uint64_t(1) << 52) - 1;
constexpr std::size_t kLanes = 8;
constexpr std::size_t kPrefetchAhead = 512;  // values (4 KiB)

inline std::uint64_t to_bits(double v) {
  std::uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

inline double from_bits(std::uint64_t b) {
  double v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

// Exponent and mantissa of |v| with subnormals normalized (exact).
inline void decompose(double v, std::int32_t& exponent, std::uint64_t& mantissa) {
  const std::uint64_t bits = to_bits(v) & ~kSignMask;
  const bool subnormal = (bits >> 52) == 0;
  const std::uint64_t normalized = subnormal ? (to_bits(from_bits(bits) * 0x1p52) & ~kSignMask) : bits;
  exponent = std::int32_t(normalized >> 52) - 1023 - (subnormal ? 52 : 0);
  mantissa = normalized & kMantissaMask;
}

}  // namespace

namespace {

void index_portable(const double* x, std::size_t n, const SketchIndexParams& p, std::int32_t* index) {
  const int scale = p.scale;
  if (scale > 0) {
    const int shift = 52 - (scale + 1);
    const std::int32_t per_binade = std::int32_t(1) << scale;
    for (std::size_t i = 0; i < n; ++i) {
      std::int32_t e;
      std::uint64_t mantissa;
      decompose(x[i], e, mantissa);
      const std::uint32_t k = p.first_boundary[mantissa >> shift];
      const double m = from_bits(mantissa | 0x3FF0000000000000ull);
      const std::int32_t count = std::int32_t(k) + (m >= p.thresholds[k] ? 1 : 0);
      index[i] = e * per_binade + count - 1 - p.bias;
    }
  } else {
    const int shift = -scale;
    for (std::size_t i = 0; i < n; ++i) {
      std::int32_t e;
      std::uint64_t mantissa;
      decompose(x[i], e, mantissa);
      index[i] = ((e - (mantissa == 0 ? 1 : 0)) >> shift) - p.bias;
    }
  }
}

// Class counts, extremes and the double-double sum, in kLanes independent
// lanes (each a simple reduction the vectorizer recognizes).
void summarize_portable(const double* x, std::size_t n, SketchBlockSummary& s) {
  double lane_min[kLanes], lane_max[kLanes], lane_hi[kLanes], lane_lo[kLanes];
  std::uint64_t nan = 0, pinf = 0, ninf = 0, zero = 0, neg = 0;
  for (std::size_t l = 0; l < kLanes; ++l) {
    lane_min[l] = __builtin_inf();
    lane_max[l] = -__builtin_inf();
    lane_hi[l] = 0.0;
    lane_lo[l] = 0.0;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const double v = x[i];
    nan += (v != v) ? 1u : 0u;
    pinf += (v == __builtin_inf()) ? 1u : 0u;
    ninf += (v == -__builtin_inf()) ? 1u : 0u;
    zero += (v == 0.0) ? 1u : 0u;
    neg += (v < 0.0 && v != -__builtin_inf()) ? 1u : 0u;
  }
  for (std::size_t i = 0; i < n; i += kLanes) {
    for (std::size_t l = 0; l < kLanes; ++l) {
      const bool present = i + l < n;  // the last group may be partial
      const double v = present ? x[i + l] : 0.0;
      const bool finite = present && (v == v) && v != __builtin_inf() && v != -__builtin_inf();
      const double f = finite ? v : 0.0;
      lane_min[l] = (finite && v < lane_min[l]) ? v : lane_min[l];
      lane_max[l] = (finite && v > lane_max[l]) ? v : lane_max[l];
      const double t = lane_hi[l] + f;  // TwoSum: t + err == hi + f exactly
      const double bp = t - lane_hi[l];
      lane_lo[l] += (lane_hi[l] - (t - bp)) + (f - bp);
      lane_hi[l] = t;
    }
  }
  s.by_class[kNaN] = nan;
  s.by_class[kPositiveInf] = pinf;
  s.by_class[kNegativeInf] = ninf;
  s.by_class[kZero] = zero;
  s.by_class[kNegative] = neg;
  s.by_class[kPositive] = n - nan - pinf - ninf - zero - neg;
  s.min = __builtin_inf();
  s.max = -__builtin_inf();
  s.sum_hi = 0.0;
  s.sum_lo = 0.0;
  for (std::size_t l = 0; l < kLanes; ++l) {
    s.min = lane_min[l] < s.min ? lane_min[l] : s.min;
    s.max = lane_max[l] > s.max ? lane_max[l] : s.max;
    const double t = s.sum_hi + lane_hi[l];
    const double bp = t - s.sum_hi;
    s.sum_lo += (s.sum_hi - (t - bp)) + (lane_hi[l] - bp) + lane_lo[l];
    s.sum_hi = t;
  }
}

// From the bits, with selects only, so the loop over a block vectorizes (a
// comparison chain on doubles compiled to scalar branches that signed data
// mispredicts half the time).
std::uint8_t class_of(double v) {
  const std::uint64_t bits = to_bits(v);
  const std::uint64_t magnitude = bits & ~kSignMask;
  const std::uint32_t negative = std::uint32_t(bits >> 63);
  const std::uint64_t inf_bits = 0x7FF0000000000000ull;
  std::uint32_t c = negative;  // kPositive 0, kNegative 1
  c = magnitude == 0 ? std::uint32_t(kZero) : c;
  c = magnitude == inf_bits ? std::uint32_t(kPositiveInf) + negative : c;  // kNegativeInf = kPositiveInf + 1
  c = magnitude > inf_bits ? std::uint32_t(kNaN) : c;
  return std::uint8_t(c);
}

void index_extremes(const std::int32_t* index, const std::uint8_t* cls, std::size_t n,
                    SketchBlockSummary& s) {
  std::int32_t pmin = 0x7FFFFFFF, pmax = -0x7FFFFFFF - 1, nmin = 0x7FFFFFFF, nmax = -0x7FFFFFFF - 1;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t v = index[i];
    const bool pos = cls[i] == kPositive;
    const bool neg = cls[i] == kNegative;
    pmin = (pos && v < pmin) ? v : pmin;
    pmax = (pos && v > pmax) ? v : pmax;
    nmin = (neg && v < nmin) ? v : nmin;
    nmax = (neg && v > nmax) ? v : nmax;
  }
  s.positive_min_index = pmin;
  s.positive_max_index = pmax;
  s.negative_min_index = nmin;
  s.negative_max_index = nmax;
}

#if defined(DRIFTLINE_KERNEL_AVX512)
// Two passes over the block:
//  1. index eight (or sixteen) values at a time when all are positive, finite
//     and normal (every latency): exponent bits plus 2^s*log2(m) by a
//     polynomial, flagging lanes within the tolerance of a bucket boundary;
//     the same pass folds the values into vector min/max/TwoSum accumulators
//     (independent chains); the extreme indices are then those of the extreme
//     values, since the index is monotonic in the value;
//  2. redo flagged or irregular groups exactly with the portable code.
// Returns false when the block had irregular or negative values: index[] is
// right all the same (magnitudes are indexed; irregular groups were redone),
// but the caller needs cls[] and summarizes with the portable code.
bool sketch_block_avx512(const double* x, std::size_t n, const SketchIndexParams& p,
                         std::int32_t* index, SketchBlockSummary& s) {
  const __m512i mantissa_mask = _mm512_set1_epi64(std::int64_t(kMantissaMask));
  const __m512i one_bits = _mm512_set1_epi64(0x3FF0000000000000ll);
  const __m512i exponent_bias = _mm512_set1_epi64(1023);
  const __m512d inf = _mm512_set1_pd(__builtin_inf());
  const __m512d min_normal = _mm512_set1_pd(0x1p-1022);
  const int scale = p.scale;
  const __m512d two = _mm512_set1_pd(2.0);
  const __m512d three = _mm512_set1_pd(3.0);
  double c[kLog2PolynomialDegree + 1];
  for (int j = 0; j <= kLog2PolynomialDegree; ++j) c[j] = scale > 0 ? p.log2_coefficients[j] : 0.0;
  const __m512d tolerance = _mm512_set1_pd(p.log2_tolerance);
  const __m512d one_minus_tolerance = _mm512_set1_pd(1.0 - p.log2_tolerance);
  const __m128i scale_shift = _mm_cvtsi32_si128(scale > 0 ? scale : 0);
  const __m128i down_shift = _mm_cvtsi32_si128(scale < 0 ? -scale : 0);
  const __m256i minus_one = _mm256_set1_epi32(-1);
  const __m256i bias8 = _mm256_set1_epi32(p.bias);
  const __m512i bias16 = _mm512_set1_epi32(p.bias);
  const std::size_t whole = n - n % 8;
  std::uint8_t redo[kSketchBlock / 8 + 1];
  int any_redo = 0, irregular = 0;
  // Lanes are indexed by magnitude, so negative values take the fast path too
  // (the index of |x| is what both stores need); the OR of the raw bits tells
  // whether any was negative, in which case the summary below (built from the
  // magnitudes) is not the block's and the caller summarizes it instead.
  __m512i signs = _mm512_setzero_si512();
  // Summary accumulators (meaningful only when the block turns out regular):
  // two of each so that the 16-wide path keeps its chains independent.
  __m512d vmin0 = inf, vmin1 = inf, vmax0 = _mm512_setzero_pd(), vmax1 = _mm512_setzero_pd();
  __m512d hi0 = _mm512_setzero_pd(), lo0 = hi0, hi1 = hi0, lo1 = hi0;
  auto two_sum = [](__m512d& hi, __m512d& lo, __m512d v) {  // per lane: hi + lo += v exactly
    const __m512d t = _mm512_add_pd(hi, v);
    const __m512d bp = _mm512_sub_pd(t, hi);
    lo = _mm512_add_pd(lo, _mm512_add_pd(_mm512_sub_pd(hi, _mm512_sub_pd(t, bp)), _mm512_sub_pd(v, bp)));
    hi = t;
  };

  // Pass 1. Scales 1..8 first take sixteen values at a time in float32: the
  // polynomial's error there (coefficients and m rounded to float, Estrin's
  // scheme in float FMAs) stays below 2e-7 * 2^s (measured over 2^24 mantissas
  // at every scale 1..8; m's rounding alone accounts for 8.6e-8), and lanes
  // within 2^(s-19) ~ 1.9e-6 * 2^s of a boundary are redone exactly, so the
  // result is the same as the double path's.
  const std::size_t groups = whole / 8;
  std::size_t first_double_group = 0;
  if (scale > 0 && scale <= 8) {
    __m512 cf[kLog2PolynomialDegree + 1];
    for (int j = 0; j <= kLog2PolynomialDegree; ++j) cf[j] = _mm512_set1_ps(float(c[j]));
    const __m512 two_f = _mm512_set1_ps(2.0f), three_f = _mm512_set1_ps(3.0f);
    const float tol = std::ldexp(1.0f, scale - 19);
    const __m512 tol_low = _mm512_set1_ps(tol), tol_high = _mm512_set1_ps(1.0f - tol);
    const __m512i minus_one16 = _mm512_set1_epi32(-1);
    for (; first_double_group + 2 <= groups; first_double_group += 2) {
      const std::size_t i = first_double_group * 8;
      // The polynomial's latency leaves few loads in flight: ask for the
      // lines 4 KiB ahead into L2 (past the block end too; prefetches never fault).
      _mm_prefetch(reinterpret_cast<const char*>(x + i + kPrefetchAhead), _MM_HINT_T1);
      _mm_prefetch(reinterpret_cast<const char*>(x + i + kPrefetchAhead + 8), _MM_HINT_T1);
      const __m512d raw0 = _mm512_loadu_pd(x + i), raw1 = _mm512_loadu_pd(x + i + 8);
      signs = _mm512_or_si512(signs, _mm512_or_si512(_mm512_castpd_si512(raw0), _mm512_castpd_si512(raw1)));
      const __m512d v0 = _mm512_abs_pd(raw0), v1 = _mm512_abs_pd(raw1);
      const __mmask8 regular0 = _mm512_cmp_pd_mask(v0, min_normal, _CMP_GE_OQ) &
                                _mm512_cmp_pd_mask(v0, inf, _CMP_LT_OQ);
      const __mmask8 regular1 = _mm512_cmp_pd_mask(v1, min_normal, _CMP_GE_OQ) &
                                _mm512_cmp_pd_mask(v1, inf, _CMP_LT_OQ);
      const __m512i bits0 = _mm512_castpd_si512(v0), bits1 = _mm512_castpd_si512(v1);
      const __m256i e0 = _mm512_cvtepi64_epi32(_mm512_sub_epi64(_mm512_srli_epi64(bits0, 52), exponent_bias));
      const __m256i e1 = _mm512_cvtepi64_epi32(_mm512_sub_epi64(_mm512_srli_epi64(bits1, 52), exponent_bias));
      const __m512i e = _mm512_inserti32x8(_mm512_castsi256_si512(e0), e1, 1);
      const __m512i mantissa0 = _mm512_and_si512(bits0, mantissa_mask);
      const __m512i mantissa1 = _mm512_and_si512(bits1, mantissa_mask);
      const auto power_of_two = __mmask16(unsigned(_mm512_testn_epi64_mask(mantissa0, mantissa0)) |
                                          (unsigned(_mm512_testn_epi64_mask(mantissa1, mantissa1)) << 8));
      const __m256 m0 = _mm512_cvtpd_ps(_mm512_castsi512_pd(_mm512_or_si512(mantissa0, one_bits)));
      const __m256 m1 = _mm512_cvtpd_ps(_mm512_castsi512_pd(_mm512_or_si512(mantissa1, one_bits)));
      const __m512 m = _mm512_insertf32x8(_mm512_castps256_ps512(m0), m1, 1);
      const __m512 u = _mm512_fmsub_ps(m, two_f, three_f);
      // Estrin's scheme: a dependency chain of five operations instead of
      // Horner's ten, so consecutive groups overlap in the out-of-order window.
      static_assert(kLog2PolynomialDegree == 10, "the Estrin tree below is written for degree 10");
      const __m512 u2 = _mm512_mul_ps(u, u);
      const __m512 u4 = _mm512_mul_ps(u2, u2);
      const __m512 u8 = _mm512_mul_ps(u4, u4);
      const __m512 a0 = _mm512_fmadd_ps(cf[1], u, cf[0]);
      const __m512 a1 = _mm512_fmadd_ps(cf[3], u, cf[2]);
      const __m512 a2 = _mm512_fmadd_ps(cf[5], u, cf[4]);
      const __m512 a3 = _mm512_fmadd_ps(cf[7], u, cf[6]);
      const __m512 a4 = _mm512_fmadd_ps(cf[9], u, cf[8]);
      const __m512 b0 = _mm512_fmadd_ps(a1, u2, a0);
      const __m512 b1 = _mm512_fmadd_ps(a3, u2, a2);
      const __m512 b2 = _mm512_fmadd_ps(cf[10], u2, a4);
      const __m512 y = _mm512_fmadd_ps(b2, u8, _mm512_fmadd_ps(b1, u4, b0));
      const __m512 up = _mm512_roundscale_ps(y, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC);
      const __m512 gap = _mm512_sub_ps(up, y);
      const auto near = __mmask16((_mm512_cmp_ps_mask(gap, tol_low, _CMP_LT_OQ) |
                                   _mm512_cmp_ps_mask(gap, tol_high, _CMP_GT_OQ)) &
                                  ~power_of_two);
      const __m512i within = _mm512_mask_mov_epi32(
          _mm512_add_epi32(_mm512_cvtps_epi32(up), minus_one16), power_of_two, minus_one16);
      const __m512i idx = _mm512_sub_epi32(_mm512_add_epi32(_mm512_sll_epi32(e, scale_shift), within), bias16);
      _mm512_storeu_si512(reinterpret_cast<void*>(index + i), idx);
      vmin0 = _mm512_min_pd(vmin0, v0);
      vmin1 = _mm512_min_pd(vmin1, v1);
      vmax0 = _mm512_max_pd(vmax0, v0);
      vmax1 = _mm512_max_pd(vmax1, v1);
      two_sum(hi0, lo0, v0);
      two_sum(hi1, lo1, v1);
      const int bad0 = int(regular0 != 0xFF), bad1 = int(regular1 != 0xFF);
      redo[first_double_group] = std::uint8_t(bad0 | int((near & 0xFFu) != 0));
      redo[first_double_group + 1] = std::uint8_t(bad1 | int((near >> 8) != 0));
      any_redo |= redo[first_double_group] | redo[first_double_group + 1];
      irregular |= bad0 | bad1;
    }
  }
  for (std::size_t g = first_double_group; g < groups; ++g) {
    const std::size_t i = g * 8;
    const __m512d raw = _mm512_loadu_pd(x + i);
    signs = _mm512_or_si512(signs, _mm512_castpd_si512(raw));
    const __m512d v = _mm512_abs_pd(raw);
    const __mmask8 regular = _mm512_cmp_pd_mask(v, min_normal, _CMP_GE_OQ) &
                             _mm512_cmp_pd_mask(v, inf, _CMP_LT_OQ);
    const __m512i bits = _mm512_castpd_si512(v);
    const __m256i e = _mm512_cvtepi64_epi32(_mm512_sub_epi64(_mm512_srli_epi64(bits, 52), exponent_bias));
    const __m512i mantissa = _mm512_and_si512(bits, mantissa_mask);
    const __mmask8 power_of_two = _mm512_testn_epi64_mask(mantissa, mantissa);
    __m256i idx;
    __mmask8 near = 0;
    if (scale > 0) {
      const __m512d m = _mm512_castsi512_pd(_mm512_or_si512(mantissa, one_bits));
      const __m512d u = _mm512_fmsub_pd(m, two, three);
      const __m512d u2 = _mm512_mul_pd(u, u);
      const __m512d u4 = _mm512_mul_pd(u2, u2);
      const __m512d u8 = _mm512_mul_pd(u4, u4);
      const __m512d a0 = _mm512_fmadd_pd(_mm512_set1_pd(c[1]), u, _mm512_set1_pd(c[0]));
      const __m512d a1 = _mm512_fmadd_pd(_mm512_set1_pd(c[3]), u, _mm512_set1_pd(c[2]));
      const __m512d a2 = _mm512_fmadd_pd(_mm512_set1_pd(c[5]), u, _mm512_set1_pd(c[4]));
      const __m512d a3 = _mm512_fmadd_pd(_mm512_set1_pd(c[7]), u, _mm512_set1_pd(c[6]));
      const __m512d a4 = _mm512_fmadd_pd(_mm512_set1_pd(c[9]), u, _mm512_set1_pd(c[8]));
      const __m512d b0 = _mm512_fmadd_pd(a1, u2, a0);
      const __m512d b1 = _mm512_fmadd_pd(a3, u2, a2);
      const __m512d b2 = _mm512_fmadd_pd(_mm512_set1_pd(c[10]), u2, a4);
      const __m512d y = _mm512_fmadd_pd(b2, u8, _mm512_fmadd_pd(b1, u4, b0));
      const __m512d up = _mm512_roundscale_pd(y, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC);
      const __m512d gap = _mm512_sub_pd(up, y);
      near = __mmask8((_mm512_cmp_pd_mask(gap, tolerance, _CMP_LT_OQ) |
                       _mm512_cmp_pd_mask(gap, one_minus_tolerance, _CMP_GT_OQ)) &
                      ~power_of_two);
      const __m256i within = _mm256_mask_mov_epi32(
          _mm256_add_epi32(_mm512_cvtpd_epi32(up), minus_one), power_of_two, minus_one);
      idx = _mm256_add_epi32(_mm256_sll_epi32(e, scale_shift), within);
    } else {
      idx = _mm256_sra_epi32(_mm256_mask_add_epi32(e, power_of_two, e, minus_one), down_shift);
    }
    idx = _mm256_sub_epi32(idx, bias8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(index + i), idx);
    vmin0 = _mm512_min_pd(vmin0, v);
    vmax0 = _mm512_max_pd(vmax0, v);
    two_sum(hi0, lo0, v);
    const int bad = int(regular != 0xFF);
    redo[g] = std::uint8_t(bad | int(near != 0));
    any_redo |= redo[g];
    irregular |= bad;
  }

  // Pass 2.
  if (any_redo) {
    for (std::size_t g = 0; g * 8 < whole; ++g) {
      if (redo[g]) index_portable(x + g * 8, 8, p, index + g * 8);
    }
  }
  if (whole < n) {
    index_portable(x + whole, n - whole, p, index + whole);
    for (std::size_t i = whole; i < n; ++i) {
      irregular |= int(!(x[i] >= 0x1p-1022 && x[i] < __builtin_inf()));
    }
  }
  const bool negative = (_mm512_reduce_or_epi64(signs) & std::int64_t(0x8000000000000000ll)) != 0;
  if (irregular || negative) return false;  // index[] is right; the summary is the caller's to make

  // The block is all positive, finite and normal: reduce the accumulators.
  alignas(64) double lmin[8], lmax[8], lhi[8], llo[8];
  _mm512_store_pd(lmin, _mm512_min_pd(vmin0, vmin1));
  _mm512_store_pd(lmax, _mm512_max_pd(vmax0, vmax1));
  s = SketchBlockSummary{};
  s.by_class[kPositive] = n;
  s.min = __builtin_inf();
  s.max = -__builtin_inf();
  s.negative_min_index = 0x7FFFFFFF;
  s.negative_max_index = -0x7FFFFFFF - 1;
  auto add = [&](double v) {
    const double t = s.sum_hi + v;
    const double bp = t - s.sum_hi;
    s.sum_lo += (s.sum_hi - (t - bp)) + (v - bp);
    s.sum_hi = t;
  };
  for (const __m512d* part : {&hi0, &hi1}) {
    _mm512_store_pd(lhi, *part);
    _mm512_store_pd(llo, part == &hi0 ? lo0 : lo1);
    for (int l = 0; l < 8; ++l) {
      add(lhi[l]);
      s.sum_lo += llo[l];
    }
  }
  for (int l = 0; l < 8; ++l) {
    s.min = lmin[l] < s.min ? lmin[l] : s.min;
    s.max = lmax[l] > s.max ? lmax[l] : s.max;
  }
  for (std::size_t i = whole; i < n; ++i) {
    s.min = x[i] < s.min ? x[i] : s.min;
    s.max = x[i] > s.max ? x[i] : s.max;
    add(x[i]);
  }
  // The index is monotonic in the value, so the extreme indices are those of
  // the extreme values, computed exactly.
  std::int32_t extremes[2];
  const double ends[2] = {s.min, s.max};
  index_portable(ends, 2, p, extremes);
  s.positive_min_index = extremes[0];
  s.positive_max_index = extremes[1];
  return true;
}
#endif

}  // namespace

void sketch_block(const double* x, std::size_t n, const SketchIndexParams& p, std::int32_t* index,
                  std::uint8_t* cls, SketchBlockSummary& summary) {
  SketchBlockSummary s{};
#if defined(DRIFTLINE_KERNEL_AVX512)
  if (sketch_block_avx512(x, n, p, index, s)) {  // all positive: cls[] is not needed
    summary = s;
    return;
  }
#else
  index_portable(x, n, p, index);
#endif
  s = SketchBlockSummary{};
  summarize_portable(x, n, s);
  for (std::size_t i = 0; i < n; ++i) cls[i] = class_of(x[i]);
  index_extremes(index, cls, n, s);
  summary = s;
}

}  // namespace DRIFTLINE_KERNEL_NS
}  // namespace kernels
}  // namespace driftline
