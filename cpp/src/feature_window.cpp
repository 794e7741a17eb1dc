#include "driftline/feature_window.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "driftline/errors.hpp"
#include "driftline/prefetch.hpp"
#include "driftline/serde.hpp"

namespace driftline {

std::uint64_t FeatureWindow::next_identity() noexcept {
  static std::atomic<std::uint64_t> counter{1};
  return counter.fetch_add(1, std::memory_order_relaxed);
}

namespace {

// Rows a stage holds for `features` features: kStageRows, fewer when their
// values would pass kStageBytes (1: no staging, for very wide rows).
std::size_t stage_rows(std::size_t features) {
  const std::size_t fit = FeatureWindow::kStageBytes / (8 * std::max<std::size_t>(features, 1));
  return std::max<std::size_t>(1, std::min(FeatureWindow::kStageRows, fit));
}

// Staged rows are counted only while the ring's total stays below this, so
// that counting at most kStageRows of them can never overflow it.
constexpr std::uint64_t kStageTotalLimit = std::uint64_t(1) << 63;

}  // namespace

FeatureWindow::FeatureWindow(std::vector<Axis> axes, double width, std::int64_t length)
    : ring_(FeatureBlock(std::move(axes)), width, length),
      last_seen_(ring_.prototype().features(), -std::numeric_limits<double>::infinity()) {
  stage_.capacity = stage_rows(last_seen_.size());
  stage_.width = last_seen_.size() + 2;
}

FeatureWindow::FeatureWindow(const FeatureWindow& other) : ring_(other.ring()), last_seen_(other.last_seen()) {
  stage_.capacity = stage_rows(last_seen_.size());
  stage_.width = last_seen_.size() + 2;
}

void FeatureWindow::fold() const {
  if (stage_.size.load(std::memory_order_acquire) == 0) return;
  Lock lock(stage_mutex_);
  // Nothing is written unless rows were staged, which only a non-const
  // observe() does: a window defined const never has any, so the cast below
  // never writes to a const object.
  if (stage_.size != 0) const_cast<FeatureWindow*>(this)->fold_locked();
}

void FeatureWindow::fold_locked() {
  const std::size_t features = last_seen_.size();
  std::vector<const double*> columns(features);
  std::vector<std::ptrdiff_t> strides(features, 0);
  const std::size_t staged = stage_.size.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < staged; ++i) {
    const double* row = stage_.rows.data() + i * (features + 2);
    for (std::size_t f = 0; f < features; ++f) columns[f] = row + f;
    count(FeatureRows{columns.data(), strides.data()}, 1, row[features], row[features + 1]);
  }
  stage_.size.store(0, std::memory_order_release);
}

std::size_t FeatureWindow::staged() const { return stage_.size.load(std::memory_order_acquire); }

void FeatureWindow::assign(const FeatureWindow& other) {
  if (&other == this) return;
  // other's stage is counted (by last_seen) before this one's lock is taken,
  // so no member ever holds one window's stage lock while taking another's:
  // assigning or merging both ways at once cannot deadlock, by lock order alone.
  std::vector<double> seen = other.last_seen();
  Lock stage(stage_mutex_);
  fold_locked();
  if (!ring_.prototype().same_axes(other.ring_.prototype()) || ring_.width() != other.ring_.width() ||
      ring_.length() != other.ring_.length()) {
    throw std::invalid_argument("cannot assign a feature window of other features, width or length");
  }
  ring_.assign(other.ring_);
  Lock lock(mutex_);
  last_seen_ = std::move(seen);
}

FeatureWindow::FeatureWindow(Ring ring, std::vector<double> last_seen)
    : ring_(std::move(ring)), last_seen_(std::move(last_seen)) {
  stage_.capacity = stage_rows(last_seen_.size());
  stage_.width = last_seen_.size() + 2;
}

void FeatureWindow::prefetch_row() const noexcept {
  prefetch_object(stage_mutex_);
  prefetch_object(stage_);
  // Without the lock, only the atomics are read: the next row's place is a
  // hint (another thread may stage meanwhile), inside the stage's allocation.
  const double* rows = stage_.published.load(std::memory_order_acquire);
  const std::size_t i = stage_.size.load(std::memory_order_relaxed);
  if (rows != nullptr && i < stage_.capacity) {
    prefetch_lines(rows + i * stage_.width, stage_.width * sizeof(double));
  }
}

void FeatureWindow::observe(const FeatureRows& rows, std::size_t n, double t, double now) {
  if (n == 1 && stage_.capacity > 1) {
    Ring::check_reading(t, now);  // all a single row's count can throw, but the total's overflow
    Lock lock(stage_mutex_);
    if (double* row = stage_place()) {
      for (std::size_t f = 0; f + 2 < stage_.width; ++f) row[f] = rows.columns[f][0];
      commit_staged(row, t, now);
      return;
    }
  }
  Lock lock(stage_mutex_);
  fold_locked();
  count(rows, n, t, now);
}

void FeatureWindow::observe_row(const double* values, double t, double now) {
  if (DRIFTLINE_LIKELY(stage_.capacity > 1)) {
    Ring::check_reading(t, now);
    Lock lock(stage_mutex_);
    if (double* row = stage_place()) {
      std::copy(values, values + (stage_.width - 2), row);
      commit_staged(row, t, now);
      return;
    }
  }
  observe_row_at_once(values, t, now);
}

void FeatureWindow::observe_row_at_once(const double* values, double t, double now) {
  const std::size_t features = stage_.width - 2;
  std::vector<const double*> columns(features);
  for (std::size_t f = 0; f < features; ++f) columns[f] = values + f;
  const std::vector<std::ptrdiff_t> strides(features, 0);
  observe(FeatureRows{columns.data(), strides.data()}, 1, t, now);
}

double* FeatureWindow::stage_place() {
  if (stage_.size == stage_.capacity) fold_locked();
  // The ring's total is checked only for the first row of a stage: it
  // changes only under stage_mutex_, by writers that count the stage first
  // (fold, count, merge, assign), so it cannot grow while rows are staged,
  // and a stage that started below the limit folds at most capacity rows.
  if (stage_.size.load(std::memory_order_relaxed) == 0 &&
      ring_.total() >= kStageTotalLimit) {  // counted at once: staged rows could not all have room
    fold_locked();
    return nullptr;
  }
  if (stage_.rows.empty()) {  // allocated on first use: windows only read or merged never need it
    stage_.rows.resize(stage_.capacity * stage_.width);
    stage_.published.store(stage_.rows.data(), std::memory_order_release);
  }
  return stage_.rows.data() + stage_.size.load(std::memory_order_relaxed) * stage_.width;
}

void FeatureWindow::commit_staged(double* row, double t, double now) {
  const std::size_t features = stage_.width - 2;
  row[features] = t;
  row[features + 1] = now;
  stage_.size.store(stage_.size.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

void FeatureWindow::count(const FeatureRows& rows, std::size_t n, double t, double now) {
  // Rows the ring counted as future are not in it; they do not make a feature
  // fresh either (late rows did carry values at t: max() below keeps the latest).
  if (ring_.fill(rows, n, t, now) == Ring::Placed::future || n == 0) return;
  // Which features carry a value, found without the lock (the scan stops at
  // the first value, but an all-missing column is read to its end).
  const std::size_t features = last_seen_.size();
  char on_stack[256];  // the request path: no allocation for up to 256 features
  std::vector<char> on_heap(features > sizeof on_stack ? features : 0);
  char* seen = features > sizeof on_stack ? on_heap.data() : on_stack;
  std::fill(seen, seen + features, char(0));
  for (std::size_t f = 0; f < features; ++f) {
    const double* column = rows.columns[f];
    const std::ptrdiff_t stride = rows.strides[f];
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isnan(column[std::ptrdiff_t(i) * stride])) {
        seen[f] = 1;
        break;
      }
    }
  }
  Lock lock(mutex_);
  for (std::size_t f = 0; f < features; ++f) {
    if (seen[f]) last_seen_[f] = std::max(last_seen_[f], t);
  }
}

void FeatureWindow::observe(const FeatureRows& rows, std::size_t n, const double* t, double now) {
  Lock lock(stage_mutex_);
  fold_locked();
  count(rows, n, t, now);
}

void FeatureWindow::count(const FeatureRows& rows, std::size_t n, const double* t, double now) {
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(t[i])) throw std::invalid_argument("timestamps must not be NaN (row " + std::to_string(i) + ")");
  }
  const std::size_t features = last_seen_.size();
  std::vector<const double*> columns(features);
  std::vector<double> latest(features);
  const double width = ring_.width();
  for (std::size_t begin = 0; begin < n;) {
    // A run: consecutive rows whose times fall in one slot (the ring places a
    // batch by the slot of its time, so any of the run's times will do).
    const double slot = std::floor(t[begin] / width);
    std::size_t end = begin + 1;
    while (end < n && std::floor(t[end] / width) == slot) ++end;
    for (std::size_t f = 0; f < features; ++f) columns[f] = rows.columns[f] + std::ptrdiff_t(begin) * rows.strides[f];
    const FeatureRows run{columns.data(), rows.strides};
    if (ring_.fill(run, end - begin, t[begin], now) != Ring::Placed::future) {
      // Per feature, the latest time of a row with a value (as single-row calls would leave it).
      std::fill(latest.begin(), latest.end(), -std::numeric_limits<double>::infinity());
      for (std::size_t f = 0; f < features; ++f) {
        for (std::size_t i = begin; i < end; ++i) {
          if (t[i] > latest[f] && !std::isnan(rows.columns[f][std::ptrdiff_t(i) * rows.strides[f]])) latest[f] = t[i];
        }
      }
      Lock lock(mutex_);
      for (std::size_t f = 0; f < features; ++f) last_seen_[f] = std::max(last_seen_[f], latest[f]);
    }
    begin = end;
  }
}

std::vector<double> FeatureWindow::last_seen() const {
  fold();
  Lock lock(mutex_);
  return last_seen_;
}

void FeatureWindow::merge(const FeatureWindow& other) {
  if (this == &other) {
    const FeatureWindow copy(other);
    merge(copy);
    return;
  }
  // Counts other's staged rows before this window's stage lock is taken (see assign).
  const std::vector<double> seen = other.last_seen();
  Lock stage(stage_mutex_);
  fold_locked();
  ring_.merge(other.ring_);  // validates features and bins
  Lock lock(mutex_);
  for (std::size_t f = 0; f < last_seen_.size(); ++f) last_seen_[f] = std::max(last_seen_[f], seen[f]);
}

std::vector<std::uint8_t> FeatureWindow::to_bytes() const {
  ByteWriter w;
  const std::vector<double> seen = last_seen();
  w.u32(std::uint32_t(seen.size()));
  w.u32(0);
  for (double s : seen) w.f64(s);
  ring_.prototype().write_axes(w);
  ring_.write_compact(w, [](ByteWriter& out, const FeatureBlock& block) { block.write_compact(out); });
  return seal(ObjectType::feature_window, w.bytes());
}

namespace {

std::vector<double> read_last_seen(ByteReader& r, std::uint32_t features) {
  r.require(features, 8, "last-seen times");
  std::vector<double> seen(features);
  for (double& s : seen) {
    s = r.f64("last-seen time");
    if (std::isnan(s) || s == std::numeric_limits<double>::infinity()) {
      throw decode_error("a last-seen time is NaN or +inf");
    }
  }
  return seen;
}

}  // namespace

FeatureWindow FeatureWindow::from_bytes(const std::uint8_t* data, std::size_t size) {
  std::uint16_t version = 0;
  ByteReader r = open(ObjectType::feature_window, data, size, &version);
  const std::uint32_t f = r.u32("features");
  if (r.u32("reserved") != 0) throw decode_error("reserved bytes are not zero");
  if (version == 1) {
    std::vector<double> seen = read_last_seen(r, f);
    const std::uint32_t length = r.u32("window blob size");
    r.require(length, 1, "window blob");
    Ring ring = Ring::from_bytes(r.cursor(), length);
    r.skip(length, "window blob");
    r.expect_end("feature window payload");
    if (ring.prototype().features() != f) throw decode_error("last-seen times do not match the window's features");
    return FeatureWindow(std::move(ring), std::move(seen));
  }
  if (f < 1 || f > FeatureBlock::max_features) throw decode_error("features " + std::to_string(f) + " out of range");
  std::vector<double> seen = read_last_seen(r, f);
  r.require(f, 20, "axes");  // each at least a bin count and two edges
  const FeatureBlock prototype(FeatureBlock::read_axes(r, f));
  Ring ring = Ring::read_compact(r, prototype, prototype.memory(), size,
                                 [](ByteReader& in, FeatureBlock& block) { block.read_compact(in); });
  r.expect_end("feature window payload");
  return FeatureWindow(std::move(ring), std::move(seen));
}

}  // namespace driftline
