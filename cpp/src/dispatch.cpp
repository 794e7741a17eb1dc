// Runtime choice among the slot-kernel variants compiled into this build.
#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "driftline/kernels.hpp"

namespace driftline {
namespace kernels {

#define DRIFTLINE_DECLARE_VARIANT(ns)                                                         \
  namespace ns {                                                                              \
  void uniform_slots(const double*, std::size_t, const UniformSlotParams&, std::uint32_t*);   \
  void variable_slots(const double*, std::size_t, const VariableSlotParams&, std::uint32_t*); \
  void cumulative_counts(const double*, std::size_t, const double*, std::uint32_t,            \
                         std::uint64_t*);                                                     \
  void sketch_block(const double*, std::size_t, const SketchIndexParams&, std::int32_t*,      \
                    std::uint8_t*, SketchBlockSummary&);                                      \
  std::size_t run_end(const double*, std::size_t, std::size_t, double, double);               \
  void extremes(const double*, std::size_t, double*, double*);                                \
  std::size_t collect_inside(const double*, std::size_t, const double*, const double*,        \
                             std::uint32_t, double*);                                         \
  }

DRIFTLINE_DECLARE_VARIANT(scalar)
#if defined(DRIFTLINE_HAVE_X86_VARIANTS)
DRIFTLINE_DECLARE_VARIANT(avx2)
DRIFTLINE_DECLARE_VARIANT(avx512)
#endif
#undef DRIFTLINE_DECLARE_VARIANT

namespace {

const Kernels kScalar{"scalar", &scalar::uniform_slots, &scalar::variable_slots,
                          &scalar::cumulative_counts, &scalar::sketch_block,
                          &scalar::run_end, &scalar::extremes, &scalar::collect_inside};
#if defined(DRIFTLINE_HAVE_X86_VARIANTS)
const Kernels kAvx2{"avx2", &avx2::uniform_slots, &avx2::variable_slots,
                          &avx2::cumulative_counts, &avx2::sketch_block,
                          &avx2::run_end, &avx2::extremes, &avx2::collect_inside};
const Kernels kAvx512{"avx512", &avx512::uniform_slots, &avx512::variable_slots,
                          &avx512::cumulative_counts, &avx512::sketch_block,
                          &avx512::run_end, &avx512::extremes, &avx512::collect_inside};
#endif

// Variants usable on this CPU, best last.
std::vector<const Kernels*> usable() {
  std::vector<const Kernels*> out{&kScalar};
#if defined(DRIFTLINE_HAVE_X86_VARIANTS)
  // __builtin_cpu_supports also checks that the OS saves the wider registers (XGETBV).
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) out.push_back(&kAvx2);
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
    out.push_back(&kAvx512);
  }
#endif
  return out;
}

const Kernels* find(const std::string& name) {
  const auto variants = usable();
  if (name.empty() || name == "auto") return variants.back();
  for (const Kernels* k : variants) {
    if (name == k->name) return k;
  }
  return nullptr;
}

std::atomic<const Kernels*> g_active{nullptr};

}  // namespace
}  // namespace kernels

const Kernels& active_kernels() noexcept {
  const Kernels* k = kernels::g_active.load(std::memory_order_acquire);
  if (k != nullptr) return *k;
  const char* env = std::getenv("DRIFTLINE_SIMD");
  k = kernels::find(env ? env : "auto");
  if (k == nullptr) k = kernels::find("auto");  // an unusable request falls back to the best
  const Kernels* expected = nullptr;
  kernels::g_active.compare_exchange_strong(expected, k, std::memory_order_acq_rel);
  return *kernels::g_active.load(std::memory_order_acquire);
}

std::vector<std::string> available_kernels() {
  std::vector<std::string> names;
  for (const Kernels* k : kernels::usable()) names.emplace_back(k->name);
  return names;
}

void select_kernels(const std::string& name) {
  const Kernels* k = kernels::find(name);
  if (k == nullptr) {
    std::string known;
    for (const auto& n : available_kernels()) known += (known.empty() ? "" : ", ") + n;
    throw std::invalid_argument("unknown or unsupported SIMD variant '" + name +
                                "'; available here: auto, " + known);
  }
  kernels::g_active.store(k, std::memory_order_release);
}

}  // namespace driftline
