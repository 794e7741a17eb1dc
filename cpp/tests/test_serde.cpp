// The binary format: round trips, every truncation and every single-bit flip
// refused with decode_error, and the committed golden files of every version
// decoding and re-encoding to the same bytes.
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "check.hpp"
#include "driftline/errors.hpp"
#include "driftline/histogram.hpp"
#include "driftline/quantile_sketch.hpp"
#include "driftline/window.hpp"

using driftline::Axis;
using driftline::Histogram;
using driftline::QuantileSketch;
using driftline::Window;

namespace {

template <typename T>
void check_hostile_inputs_refused(const std::vector<std::uint8_t>& blob, const char* what) {
  int accepted = 0;
  for (std::size_t n = 0; n < blob.size(); ++n) {
    try {
      (void)T::from_bytes(blob.data(), n);
      ++accepted;
    } catch (const driftline::decode_error&) {
    }
  }
  for (std::size_t bit = 0; bit < blob.size() * 8; ++bit) {
    std::vector<std::uint8_t> flipped = blob;
    flipped[bit / 8] = std::uint8_t(flipped[bit / 8] ^ (1u << (bit % 8)));
    try {
      (void)T::from_bytes(flipped.data(), flipped.size());
      ++accepted;
    } catch (const driftline::decode_error&) {
    }
  }
  if (accepted != 0) dltest::fail(__FILE__, __LINE__, std::string(what) + ": " + std::to_string(accepted) + " bad blobs decoded");
}

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A golden file decodes; written again, it is the same bytes when it is of
// the current version, and (an older version) decodes to the same bytes again.
template <typename T>
void check_golden(const std::string& name, bool current = true) {
  const auto blob = read_file(dltest::data_dir() + "/" + name);
  if (blob.empty()) {
    dltest::fail(__FILE__, __LINE__, "missing golden file " + name);
    return;
  }
  const T decoded = T::from_bytes(blob.data(), blob.size());
  const auto again = decoded.to_bytes();
  if (current ? again != blob : T::from_bytes(again.data(), again.size()).to_bytes() != again) {
    dltest::fail(__FILE__, __LINE__, name + " re-encodes differently");
  }
  dltest::record(name, blob);
}

}  // namespace

DL_TEST(histogram_bytes) {
  Histogram h(Axis::variable({-1.0, 0.0, 0.5, 2.0}));
  const std::vector<double> x{-3, -0.5, 0.1, 0.7, 1.9, 2.0, 5, std::nan("")};
  h.fill(x.data(), x.size());
  const auto blob = h.to_bytes();
  CHECK(Histogram::from_bytes(blob.data(), blob.size()) == h);
  check_hostile_inputs_refused<Histogram>(blob, "histogram");
  const Histogram u(Axis::uniform(0, 1, 3));
  check_hostile_inputs_refused<Histogram>(u.to_bytes(), "uniform histogram");
}

DL_TEST(sketch_bytes) {
  QuantileSketch s(4, 64);
  for (double x : {0.001, 0.5, 3.0, -2.0, 0.0, 1e5}) s.record(x);
  const auto blob = s.to_bytes();
  CHECK(QuantileSketch::from_bytes(blob.data(), blob.size()) == s);
  check_hostile_inputs_refused<QuantileSketch>(blob, "sketch");
}

DL_TEST(window_bytes) {
  Window<Histogram> w(Histogram(Axis::uniform(0, 1, 2)), 10.0, 2);
  w.record(0.3, 100.0, 100.0);
  w.record(0.7, 95.0, 100.0);
  const auto blob = w.to_bytes();
  CHECK(Window<Histogram>::from_bytes(blob.data(), blob.size()).to_bytes() == blob);
  check_hostile_inputs_refused<Window<Histogram>>(blob, "window");
}

DL_TEST(golden_files_decode) {
  check_golden<Histogram>("histogram_uniform_v1.bin");
  check_golden<Histogram>("histogram_edges_v1.bin");
  check_golden<QuantileSketch>("quantile_sketch_v1.bin");
  check_golden<Window<Histogram>>("window_histogram_v1.bin", false);  // windows are at version 2
  check_golden<Window<QuantileSketch>>("window_sketch_v2.bin");
}
