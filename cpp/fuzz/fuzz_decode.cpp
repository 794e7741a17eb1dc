// libFuzzer targets for every core decoder: one binary per decoder, chosen at
// compile time by DRIFTLINE_FUZZ_DECODER (see .ci/fuzz).
//
// The property checked on every input: from_bytes either throws decode_error
// or returns an object that re-encodes to a blob which decodes again to the
// same bytes, and that survives ordinary use (a self-merge, which may only
// throw std::overflow_error for counts at 2^64). Any other exception escapes
// and libFuzzer reports it as a crash, as it does for sanitizer findings,
// timeouts and oversized allocations.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "driftline/errors.hpp"
#include "driftline/feature_block.hpp"
#include "driftline/feature_window.hpp"
#include "driftline/histogram.hpp"
#include "driftline/quantile_sketch.hpp"
#include "driftline/window.hpp"

namespace {

using driftline::FeatureBlock;
using driftline::FeatureWindow;
using driftline::Histogram;
using driftline::QuantileSketch;
using driftline::Window;

#define DRIFTLINE_FUZZ_histogram 1
#define DRIFTLINE_FUZZ_quantile_sketch 2
#define DRIFTLINE_FUZZ_histogram_window 3
#define DRIFTLINE_FUZZ_sketch_window 4
#define DRIFTLINE_FUZZ_feature_block 5
#define DRIFTLINE_FUZZ_feature_window 6
#define DRIFTLINE_FUZZ_PICK(name) DRIFTLINE_FUZZ_##name
#define DRIFTLINE_FUZZ_SELECTED(name) DRIFTLINE_FUZZ_PICK(name)

#if DRIFTLINE_FUZZ_SELECTED(DRIFTLINE_FUZZ_DECODER) == 1
using Decoded = Histogram;
#elif DRIFTLINE_FUZZ_SELECTED(DRIFTLINE_FUZZ_DECODER) == 2
using Decoded = QuantileSketch;
#elif DRIFTLINE_FUZZ_SELECTED(DRIFTLINE_FUZZ_DECODER) == 3
using Decoded = Window<Histogram>;
#elif DRIFTLINE_FUZZ_SELECTED(DRIFTLINE_FUZZ_DECODER) == 4
using Decoded = Window<QuantileSketch>;
#elif DRIFTLINE_FUZZ_SELECTED(DRIFTLINE_FUZZ_DECODER) == 5
using Decoded = FeatureBlock;
#elif DRIFTLINE_FUZZ_SELECTED(DRIFTLINE_FUZZ_DECODER) == 6
using Decoded = FeatureWindow;
#else
#error "DRIFTLINE_FUZZ_DECODER must name a decoder"
#endif

void use(Histogram& h) { (void)h.total(); }
void use(QuantileSketch& s) {
  if (s.count() > 0) (void)s.quantile(0.5);
}
template <typename T>
void use(Window<T>& w) {
  (void)w.merged(std::numeric_limits<double>::infinity(), 0.0);
}
void use(FeatureBlock& b) { (void)b.rows(); }
void use(FeatureWindow& w) { (void)w.last_seen(); }

// A self-merge: the decoded object must behave like any other.
template <typename T>
void merge_with_itself(T& value) {
  const T copy(value);
  try {
    value.merge(copy);
  } catch (const std::overflow_error&) {
    // counts near 2^64: refused, and (the merge is all or nothing) nothing changed
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> first;
  try {
    Decoded value = Decoded::from_bytes(data, size);
    first = value.to_bytes();
    use(value);
  } catch (const driftline::decode_error&) {
    return 0;  // the expected outcome for almost every input
  }
  Decoded again = Decoded::from_bytes(first.data(), first.size());  // must not throw
  if (again.to_bytes() != first) __builtin_trap();                   // re-encoding is stable
  merge_with_itself(again);
  const std::vector<std::uint8_t> merged = again.to_bytes();
  (void)Decoded::from_bytes(merged.data(), merged.size());  // a merged state's bytes decode too
  return 0;
}
