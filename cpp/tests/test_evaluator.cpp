// The Monitor's judgement: span figures equal the drift functions on the
// span's counts, the bucket cache never serves a changed bucket, and every
// figure is recorded for the cross-machine comparison. (The per-bucket rules
// are checked against an independent numpy implementation in
// tests/test_evaluator.py.)
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "driftline/distributions.hpp"
#include "driftline/drift.hpp"
#include "driftline/evaluator.hpp"
#include "driftline/feature_window.hpp"

using driftline::Axis;
using driftline::Evaluation;
using driftline::Evaluator;
using driftline::FeatureWindow;
using driftline::ReferenceFeature;

namespace {

constexpr double kWidth = 60.0;
constexpr std::int64_t kLength = 10;

// Feature 0: numeric over 4 bins; feature 1: numeric over 2 bins; feature 2:
// categorical, codes 0..2 known, code 3 "other".
std::vector<Axis> axes() {
  return {Axis::variable({-2.0, -1.0, 0.0, 1.0, 2.0}), Axis::variable({0.0, 0.5, 1.0}),
          Axis::variable({0.0, 1.0, 2.0, 3.0, 4.0})};
}

std::vector<ReferenceFeature> reference() {
  ReferenceFeature a{false, false, {0, 100, 400, 400, 100, 0}, 10, 1010};
  ReferenceFeature b{false, false, {0, 500, 500, 0}, 0, 1000};
  ReferenceFeature c{true, false, {0, 600, 300, 100, 0, 0}, 5, 1005};
  return {a, b, c};
}

// Rows into every slot of the ring; from slot 5 on, feature 0 drifts and feature 2 sees "other".
void fill(FeatureWindow& w, std::uint64_t seed, double now) {
  dltest::Random rng(seed);
  for (std::int64_t k = 0; k < kLength; ++k) {
    const std::size_t n = std::size_t(rng.integer(150, 300));
    std::vector<double> a(n), b(n), c(n);
    for (std::size_t i = 0; i < n; ++i) {
      const double shift = k >= 5 ? 0.8 : 0.0;
      a[i] = rng.bell() + shift;
      b[i] = rng.uniform();
      const std::int64_t code = rng.integer(0, 9);
      c[i] = double(code < 6 ? 0 : code < 8 ? 1 : code < 9 ? 2 : (k >= 5 ? 3 : 2));
      if (rng.integer(0, 49) == 0) a[i] = std::numeric_limits<double>::quiet_NaN();
    }
    const double* columns[] = {a.data(), b.data(), c.data()};
    const std::ptrdiff_t strides[] = {1, 1, 1};
    const double t = now - double(kLength - 1 - k) * kWidth;
    w.observe(driftline::FeatureRows{columns, strides}, n, t, now);
  }
}

driftline::JudgementPolicy policy() {
  driftline::JudgementPolicy p;
  p.min_count = 100;
  p.consecutive = 2;
  p.stale_after = 300.0;
  return p;
}

void check_same(const Evaluation& x, const Evaluation& y) {
  CHECK(x.levels == y.levels);
  CHECK(x.bucket_starts == y.bucket_starts);
  CHECK_EQ(x.features.size(), y.features.size());
  for (std::size_t f = 0; f < x.features.size(); ++f) {
    const auto& a = x.features[f];
    const auto& b = y.features[f];
    CHECK_EQ(a.level, b.level);
    CHECK_EQ(a.reasons, b.reasons);
    CHECK_EQ(a.count, b.count);
    CHECK(a.psi == b.psi || (std::isnan(a.psi) && std::isnan(b.psi)));
    CHECK(a.bucket_psi == b.bucket_psi || (std::isnan(a.bucket_psi) && std::isnan(b.bucket_psi)));
  }
}

}  // namespace

DL_TEST(span_figures_equal_the_drift_functions) {
  const double now = 100 * kWidth + 30.0;
  FeatureWindow w(axes(), kWidth, kLength);
  fill(w, 1, now);
  Evaluator e(reference(), policy());
  const Evaluation ev = e.evaluate(w, 1e9, now);
  const driftline::FeatureBlock all = w.ring().merged(std::numeric_limits<double>::infinity(), now);
  const auto refs = reference();
  for (std::size_t f = 0; f < 3; ++f) {
    const std::size_t cells = refs[f].cells.size();
    std::vector<double> cur(cells);
    for (std::size_t i = 0; i < cells; ++i) cur[i] = double(all.counts()[all.offset(f) + i]);
    const auto& v = ev.features[f];
    CHECK_EQ(v.psi, driftline::psi(refs[f].cells, cur, 0.5));
    CHECK_EQ(v.js, driftline::js_distance(refs[f].cells, cur));
    CHECK_EQ(v.rows, all.rows());
    if (!refs[f].categorical) {
      const auto ks = driftline::ks_binned(refs[f].cells, cur);
      CHECK_EQ(v.ks, ks.statistic);
      CHECK_EQ(v.ks_bound, ks.bound);
      double rn = 0, cn = 0;
      for (std::size_t i = 0; i < cells; ++i) rn += refs[f].cells[i], cn += cur[i];
      CHECK_EQ(v.ks_pvalue, driftline::kolmogorov_limit_sf(std::sqrt(rn * cn / (rn + cn)) * ks.statistic));
    }
    dltest::record("feature" + std::to_string(f) + ".psi", v.psi);
    dltest::record("feature" + std::to_string(f) + ".js", v.js);
    dltest::record("feature" + std::to_string(f) + ".bucket_psi", v.bucket_psi);
    dltest::record("feature" + std::to_string(f) + ".level", std::uint64_t(v.level + 1));
    dltest::record("feature" + std::to_string(f) + ".top", std::uint64_t(v.top[0] + 1));
    if (!refs[f].categorical) dltest::record_approx("feature" + std::to_string(f) + ".ks_pvalue", {v.ks_pvalue});
  }
  // Feature 0 drifts from the middle of the ring on: hysteresis raises it; feature 2's unseen rate too.
  CHECK(ev.features[0].level >= 1 && (ev.features[0].reasons & driftline::kReasonDrift));
  CHECK(ev.features[2].level >= 1 && (ev.features[2].reasons & driftline::kReasonRate));
  CHECK_EQ(ev.features[1].level, 0);
  CHECK_EQ(ev.bucket_starts.size(), std::size_t(kLength - 1));  // the last slot is still open
  std::vector<std::uint64_t> levels;
  for (std::int8_t l : ev.levels) levels.push_back(std::uint64_t(l + 1));
  dltest::record("levels", levels);
}

DL_TEST(cached_buckets_are_judged_again_when_they_change) {
  const double now = 100 * kWidth + 30.0;
  FeatureWindow w(axes(), kWidth, kLength);
  fill(w, 2, now);
  Evaluator cached(reference(), policy());
  check_same(cached.evaluate(w, 1e9, now), Evaluator(reference(), policy()).evaluate(w, 1e9, now));
  // A late batch into a completed bucket (same slot id, more rows).
  std::vector<double> a(400, 1.9), b(400, 0.25), c(400, 3.0);
  const double* columns[] = {a.data(), b.data(), c.data()};
  const std::ptrdiff_t strides[] = {1, 1, 1};
  w.observe(driftline::FeatureRows{columns, strides}, 400, now - 3 * kWidth, now);
  check_same(cached.evaluate(w, 1e9, now), Evaluator(reference(), policy()).evaluate(w, 1e9, now));
  // Another window with the same slot ids and row counts but other contents: not served from cache.
  FeatureWindow other(axes(), kWidth, kLength);
  fill(other, 3, now);
  check_same(cached.evaluate(other, 1e9, now), Evaluator(reference(), policy()).evaluate(other, 1e9, now));
  // Time moves on: buckets leave the ring, the open one completes.
  const double later = now + 2 * kWidth;
  check_same(cached.evaluate(w, 1e9, later), Evaluator(reference(), policy()).evaluate(w, 1e9, later));
}

DL_TEST(mismatched_windows_are_refused) {
  Evaluator e(reference(), policy());
  FeatureWindow two({Axis::variable({0.0, 1.0}), Axis::variable({0.0, 1.0})}, kWidth, kLength);
  CHECK_THROWS(std::invalid_argument, e.evaluate(two, 60.0, 100.0));
  FeatureWindow bins({Axis::variable({0.0, 1.0}), Axis::variable({0.0, 0.5, 1.0}), Axis::variable({0.0, 1.0})},
                     kWidth, kLength);
  CHECK_THROWS(std::invalid_argument, e.evaluate(bins, 60.0, 100.0));
  FeatureWindow ok(axes(), kWidth, kLength);
  CHECK_THROWS(std::invalid_argument, e.evaluate(ok, -1.0, 100.0));
  CHECK_THROWS(std::invalid_argument, e.evaluate(ok, 60.0, std::numeric_limits<double>::quiet_NaN()));
  auto empty = e.evaluate(ok, 60.0, 100.0);
  CHECK_EQ(empty.features[0].level, driftline::kInsufficientData);
  CHECK(std::isnan(empty.features[0].psi));
}
