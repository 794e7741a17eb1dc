// cpp/tests/check.cpp -- the harness's runner: registry, records, main().
#include "check.hpp"

#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>

namespace dltest {
namespace {

struct Case {
  const char* name;
  TestFunction function;
};

std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

const char* g_current = "";
int g_failures = 0;
std::vector<std::string> g_records;
// The golden files' folder; CMake bakes in the source tree's, --data overrides.
#ifdef DRIFTLINE_GOLDEN_DIR
std::string g_data_dir = DRIFTLINE_GOLDEN_DIR;
#else
std::string g_data_dir;
#endif

std::uint64_t fnv1a(const void* data, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < size; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

std::string digest(std::size_t count, const void* data, std::size_t size) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "n=%zu fnv=%016llx", count,
                static_cast<unsigned long long>(fnv1a(data, size)));
  return buf;
}

}  // namespace

Registrar::Registrar(const char* name, TestFunction function) { registry().push_back({name, function}); }

void fail(const char* file, int line, const std::string& message) {
  ++g_failures;
  std::fprintf(stderr, "%s:%d: in %s: check failed: %s\n", file, line, g_current, message.c_str());
}

void record(const std::string& key, const std::string& value) {
  g_records.push_back(std::string(g_current) + "." + key + " " + value);
}
void record(const std::string& key, double value) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%a", value);
  record(key, std::string(buf));
}
void record(const std::string& key, std::uint64_t value) { record(key, std::to_string(value)); }
void record(const std::string& key, const std::vector<std::uint8_t>& bytes) {
  record(key, digest(bytes.size(), bytes.data(), bytes.size()));
}
void record(const std::string& key, const std::vector<std::uint64_t>& counts) {
  // Hash the values, not the in-memory bytes, so the digest does not depend on byte order.
  std::vector<unsigned char> le;
  le.reserve(counts.size() * 8);
  for (std::uint64_t c : counts) {
    for (int b = 0; b < 8; ++b) le.push_back(static_cast<unsigned char>(c >> (8 * b)));
  }
  record(key, digest(counts.size(), le.data(), le.size()));
}
void record(const std::string& key, const std::vector<double>& values) {
  std::vector<std::uint64_t> bits(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) std::memcpy(&bits[i], &values[i], 8);
  record(key, bits);
}

void record_approx(const std::string& key, const std::vector<double>& values) {
  std::string line = "~";
  char buf[48];
  for (double v : values) {
    std::snprintf(buf, sizeof buf, " %a", v);
    line += buf;
  }
  record(key, line);
}

const std::string& data_dir() { return g_data_dir; }

std::uint64_t Random::next() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double Random::uniform() { return double(next() >> 11) * 0x1p-53; }

double Random::uniform(double lo, double hi) {
  // volatile: two roundings, whatever the compiler's contraction setting.
  volatile double scaled = (hi - lo) * uniform();
  return lo + scaled;
}

double Random::bell() {
  // One draw per statement: the order of evaluation inside an expression is
  // unspecified, and compilers for different targets do choose differently.
  const double a = uniform();
  const double b = uniform();
  const double c = uniform();
  const double d = uniform();
  return ((a + b) + (c + d)) - 2.0;
}

double Random::heavy_tail() {
  const int exponent = int(integer(-20, 10));
  double mantissa = 1.0 + uniform();
  for (int i = 0; i < exponent; ++i) mantissa *= 2.0;   // exact scalings
  for (int i = 0; i > exponent; --i) mantissa *= 0.5;
  return mantissa;
}

std::int64_t Random::integer(std::int64_t lo, std::int64_t hi) {
  const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
  return lo + static_cast<std::int64_t>(next() % span);
}

}  // namespace dltest

int main(int argc, char** argv) {
  using namespace dltest;
  const char* record_path = nullptr;
  const char* only = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--record") == 0 && i + 1 < argc) {
      record_path = argv[++i];
    } else if (std::strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
      g_data_dir = argv[++i];
    } else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--data DIR] [--record FILE] [--only CASE]\n", argv[0]);
      return 2;
    }
  }
  int passed = 0, failed = 0;
  for (const Case& c : registry()) {
    if (only != nullptr && std::strcmp(only, c.name) != 0) continue;
    g_current = c.name;
    const int before = g_failures;
    try {
      c.function();
    } catch (const std::exception& e) {
      fail(__FILE__, __LINE__, std::string("unexpected exception: ") + e.what());
    }
    const bool ok = g_failures == before;
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", c.name);
    (ok ? passed : failed) += 1;
  }
  if (record_path != nullptr) {
    std::ofstream out(record_path);
    for (const std::string& line : g_records) out << line << '\n';
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", record_path);
      return 2;
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
