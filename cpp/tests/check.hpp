// cpp/tests/check.hpp -- the core's C++ test harness.
//
// Plain C++17 and nothing else, so the suite builds with any toolchain the core
// builds with (it is cross-built for aarch64 and run under qemu-user in CI).
//
// Two kinds of output:
//  - checks (CHECK, CHECK_EQ, CHECK_THROWS): properties that must hold on every
//    machine, verified against independent computations inside the test;
//  - records (record()): results that must be *identical* on every machine and
//    every SIMD variant (counts, bytes, floating-point results as hex). With
//    `--record FILE` they are written one "case.key value" line each; CI diffs
//    the x86-64 file against the aarch64 one.
// The closing line is "N passed, N failed" (cases), and the exit status is
// non-zero when any check failed.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace dltest {

using TestFunction = void (*)();

struct Registrar {
  Registrar(const char* name, TestFunction function);
};

void fail(const char* file, int line, const std::string& message);

// A result that must be the same, bit for bit, everywhere.
void record(const std::string& key, const std::string& value);
void record(const std::string& key, double value);           // as %a hex
void record(const std::string& key, std::uint64_t value);
void record(const std::string& key, const std::vector<std::uint8_t>& bytes);   // size + FNV-1a
void record(const std::string& key, const std::vector<std::uint64_t>& counts); // size + FNV-1a
void record(const std::string& key, const std::vector<double>& values);        // size + FNV-1a of bits

// A result computed through libm functions that are not correctly rounded
// (lgamma) or through long double (80-bit on x86-64, 128-bit on aarch64): the
// p-value functions. Written as "case.key ~ v1 v2 ..." (%a), and compared across
// machines to the relative tolerance kApproxTolerance instead of bit for bit.
inline constexpr double kApproxTolerance = 1e-12;
void record_approx(const std::string& key, const std::vector<double>& values);

// Directory of the golden files (tests/golden): the source tree's, or `--data DIR`.
const std::string& data_dir();

// A portable pseudo-random source (draw once per statement: the order in which
// the arguments of one call are evaluated differs between targets): SplitMix64, whose output is fully defined by
// integer arithmetic, so every platform draws the same values. No libm is used
// to shape the draws, so inputs are bit-identical on every machine too.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  double uniform();                        // [0, 1), 53 random bits
  double uniform(double lo, double hi);    // lo + (hi - lo) * uniform(), no FMA (separate roundings)
  double bell();                           // sum of 4 uniforms - 2: bell-shaped on [-2, 2)
  double heavy_tail();                     // uniform mantissa times 2^k, k in [-20, 10]: latency-like
  std::int64_t integer(std::int64_t lo, std::int64_t hi);  // [lo, hi]

 private:
  std::uint64_t state_;
};

template <typename A, typename B>
std::string describe_pair(const A& a, const B& b) {
  std::ostringstream out;
  out.precision(17);
  out << a << " vs " << b;
  return out.str();
}

}  // namespace dltest

#define DL_TEST(name)                                          \
  static void name();                                          \
  static const ::dltest::Registrar name##_registrar(#name, &name); \
  static void name()

#define CHECK(cond)                                             \
  do {                                                          \
    if (!(cond)) ::dltest::fail(__FILE__, __LINE__, #cond);     \
  } while (0)

#define CHECK_EQ(a, b)                                                                      \
  do {                                                                                      \
    const auto& dl_a_ = (a);                                                                \
    const auto& dl_b_ = (b);                                                                \
    if (!(dl_a_ == dl_b_)) {                                                                \
      ::dltest::fail(__FILE__, __LINE__, #a " == " #b ": " + ::dltest::describe_pair(dl_a_, dl_b_)); \
    }                                                                                       \
  } while (0)

#define CHECK_THROWS(exception_type, expr)                                                  \
  do {                                                                                      \
    bool dl_thrown_ = false;                                                                \
    try {                                                                                   \
      (void)(expr);                                                                         \
    } catch (const exception_type&) {                                                       \
      dl_thrown_ = true;                                                                    \
    } catch (...) {                                                                         \
    }                                                                                       \
    if (!dl_thrown_) ::dltest::fail(__FILE__, __LINE__, #expr " throws " #exception_type);  \
  } while (0)
