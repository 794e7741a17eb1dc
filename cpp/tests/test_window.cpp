// Event-time windows: nothing is lost without a count (total == slots + late +
// future + expired), per-value timestamps equal per-slot fills, merges of
// split streams equal one window, and the feature window the Monitor uses.
#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include "check.hpp"
#include "driftline/feature_window.hpp"
#include "driftline/histogram.hpp"
#include "driftline/mutex.hpp"
#include "driftline/quantile_sketch.hpp"
#include "driftline/window.hpp"

using driftline::Axis;
using driftline::Histogram;
using driftline::QuantileSketch;
using driftline::Window;

namespace {

template <typename T>
std::uint64_t slot_contents(Window<T>& w, double now) {
  std::uint64_t n = 0;
  for (const auto& entry : w.series(now)) n += driftline::values_in(entry.second);
  return n;
}

struct Events {
  std::vector<double> values, times;
};

// Timestamps around `now`: mostly inside a 10-slot ring of 60 s, some late,
// some far in the future (a wrong unit), some one slot ahead; unsorted.
Events events(std::uint64_t seed, std::size_t n, double now) {
  dltest::Random rng(seed);
  Events e;
  for (std::size_t i = 0; i < n; ++i) {
    e.values.push_back(rng.bell());
    const std::int64_t kind = rng.integer(0, 19);
    double t = now - rng.uniform(0, 600);
    if (kind == 0) t = now - rng.uniform(700, 5000);
    if (kind == 1) t = now * 1000.0;
    if (kind == 2) t = now + rng.uniform(0, 50);
    e.times.push_back(t);
  }
  return e;
}

}  // namespace

DL_TEST(histogram_window_counts_everything) {
  const double now = 1.7e9 + 30.0;
  const Events e = events(21, 50000, now);
  Window<Histogram> w(Histogram(Axis::uniform(-2, 2, 16)), 60.0, 10);
  w.fill(e.values.data(), e.times.data(), e.values.size(), now);
  CHECK_EQ(w.total(), std::uint64_t(e.values.size()));
  CHECK_EQ(slot_contents(w, now) + w.late() + w.future() + w.expired(), w.total());
  CHECK(w.late() > 0 && w.future() > 0);

  // One event at a time, with its own timestamp: the same ring.
  Window<Histogram> one(Histogram(Axis::uniform(-2, 2, 16)), 60.0, 10);
  for (std::size_t i = 0; i < e.values.size(); ++i) one.record(e.values[i], e.times[i], now);
  CHECK(one.to_bytes() == w.to_bytes());

  // Time passes: slots expire, still everything is counted.
  w.advance_to(now + 300.0);
  CHECK(w.expired() > 0);
  CHECK_EQ(slot_contents(w, now + 300.0) + w.late() + w.future() + w.expired(), w.total());
  dltest::record("bytes", w.to_bytes());
  dltest::record("merged_last_120", w.merged(120.0, now + 300.0).slot_counts());
  CHECK_THROWS(std::invalid_argument, w.advance_to(std::nan("")));
}

DL_TEST(split_streams_merge_into_one_window) {
  const double now = 86400.0 * 3 + 10.0;
  const Events e = events(22, 30000, now);
  Window<QuantileSketch> whole(QuantileSketch(6, 2048), 60.0, 10);
  whole.fill(e.values.data(), e.times.data(), e.values.size(), now);
  Window<QuantileSketch> a(QuantileSketch(6, 2048), 60.0, 10), b(QuantileSketch(6, 2048), 60.0, 10);
  a.fill(e.values.data(), e.times.data(), 10000, now);
  b.fill(e.values.data() + 10000, e.times.data() + 10000, 20000, now);
  a.merge(b);
  CHECK(a.to_bytes() == whole.to_bytes());
  dltest::record("sketch_window_bytes", whole.to_bytes());
  Window<QuantileSketch> other_width(QuantileSketch(6, 2048), 30.0, 10);
  CHECK_THROWS(std::invalid_argument, a.merge(other_width));
}

DL_TEST(kept_expired_values_give_a_lifetime_that_never_shrinks) {
  const double now = 1.7e9 + 30.0;
  const Events e = events(23, 20000, now);
  Window<QuantileSketch> w(QuantileSketch(6, 2048), 60.0, 10, true);
  w.fill(e.values.data(), e.times.data(), e.values.size(), now);
  const std::uint64_t held = slot_contents(w, now);
  CHECK_EQ(w.lifetime(now).count(), held);
  // Time passes: every slot expires, and the lifetime keeps them all.
  w.advance_to(now + 3600.0);
  CHECK_EQ(w.expired(), held);
  CHECK_EQ(w.lifetime(now + 3600.0).count(), held);
  CHECK_EQ(w.expired_values().count(), held);
  // Through bytes and a merge: the same counts, doubled by the merge.
  Window<QuantileSketch> copy = Window<QuantileSketch>::from_bytes(w.to_bytes().data(), w.to_bytes().size());
  CHECK(copy.keeps_expired());
  copy.merge(w);
  CHECK_EQ(copy.lifetime(now + 3600.0).count(), 2 * held);
  dltest::record("kept_expired_bytes", w.to_bytes());
}

DL_TEST(nan_timestamp_changes_nothing) {
  Window<Histogram> w(Histogram(Axis::uniform(0, 1, 4)), 10.0, 6);
  const std::vector<double> values{0.1, 0.2, 0.3};
  const std::vector<double> times{100.0, std::nan(""), 101.0};
  w.fill(values.data(), 3, 100.0, 100.0);
  const auto before = w.to_bytes();
  CHECK_THROWS(std::invalid_argument, w.fill(values.data(), times.data(), 3, 100.0));
  CHECK(w.to_bytes() == before);
  CHECK_THROWS(std::invalid_argument, Window<Histogram>(Histogram(Axis::uniform(0, 1, 4)), 0.0, 6));
  CHECK_THROWS(std::invalid_argument, Window<Histogram>(Histogram(Axis::uniform(0, 1, 4)), 10.0, 0));
}

DL_TEST(feature_window_counts_rows_per_feature) {
  std::vector<Axis> axes{Axis::uniform(-2, 2, 8), Axis::variable({-1.0, 0.0, 1.0})};
  driftline::FeatureWindow fw(axes, 60.0, 5);
  dltest::Random rng(23);
  const std::size_t n = 5000;
  std::vector<double> matrix(2 * n);  // row-major n x 2
  for (double& v : matrix) v = rng.bell();
  matrix[4] = driftline::from_bits(driftline::kAbsentBits);
  matrix[7] = driftline::from_bits(driftline::kInvalidBits);
  const double* columns[2] = {matrix.data(), matrix.data() + 1};
  const std::ptrdiff_t strides[2] = {2, 2};
  const driftline::FeatureRows rows{columns, strides};
  fw.observe(rows, n, 600.0, 600.0);
  const auto block = fw.ring().merged(std::numeric_limits<double>::infinity(), 600.0);
  CHECK_EQ(block.rows(), std::uint64_t(n));
  for (std::size_t f = 0; f < 2; ++f) {
    Histogram h(axes[f]);
    for (std::size_t i = 0; i < n; ++i) h.record(matrix[2 * i + f]);
    const auto first = block.counts().begin() + std::ptrdiff_t(block.offset(f));
    const std::vector<std::uint64_t> own(first, first + std::ptrdiff_t(axes[f].slots()));
    CHECK(own == h.slot_counts());
  }
  // matrix[4] is row 2 of feature 0 (absent), matrix[7] row 3 of feature 1 (invalid).
  CHECK(block.absent() == (std::vector<std::uint64_t>{1, 0}));
  CHECK(block.invalid() == (std::vector<std::uint64_t>{0, 1}));
  dltest::record("bytes", fw.to_bytes());
  const auto copy = driftline::FeatureWindow::from_bytes(fw.to_bytes().data(), fw.to_bytes().size());
  CHECK(copy.to_bytes() == fw.to_bytes());

  // assign: the other's contents, this window's identity.
  driftline::FeatureWindow view(axes, 60.0, 5);
  const std::uint64_t identity = view.identity();
  view.assign(fw);
  CHECK(view.to_bytes() == fw.to_bytes());
  CHECK_EQ(view.identity(), identity);
  CHECK(view.identity() != fw.identity());
  driftline::FeatureWindow other_length(axes, 60.0, 6);
  CHECK_THROWS(std::invalid_argument, other_length.assign(fw));
}

DL_TEST(feature_window_per_row_times_equal_single_rows) {
  std::vector<Axis> axes{Axis::uniform(-2, 2, 8), Axis::variable({-1.0, 0.0, 1.0})};
  const double now = 3000.0;
  dltest::Random rng(24);
  const std::size_t n = 3000;
  std::vector<double> matrix(2 * n), times(n);
  for (double& v : matrix) v = rng.bell();
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t kind = rng.integer(0, 9);
    times[i] = now - rng.uniform(0, 400);
    if (kind == 0) times[i] = now - 2000;       // late
    if (kind == 1) times[i] = now * 1000;       // future
    if (kind == 2) matrix[2 * i + 1] = driftline::from_bits(driftline::kAbsentBits);
  }
  const std::ptrdiff_t strides[2] = {2, 2};
  driftline::FeatureWindow batch(axes, 60.0, 5), rows(axes, 60.0, 5);
  const double* columns[2] = {matrix.data(), matrix.data() + 1};
  batch.observe(driftline::FeatureRows{columns, strides}, n, times.data(), now);
  for (std::size_t i = 0; i < n; ++i) {
    const double* row[2] = {matrix.data() + 2 * i, matrix.data() + 2 * i + 1};
    rows.observe(driftline::FeatureRows{row, strides}, 1, times[i], now);
  }
  CHECK(batch.to_bytes() == rows.to_bytes());
  CHECK(batch.ring().late() > 0 && batch.ring().future() > 0);
  std::vector<double> bad = times;
  bad[17] = std::nan("");
  const auto before = batch.to_bytes();
  CHECK_THROWS(std::invalid_argument, batch.observe(driftline::FeatureRows{columns, strides}, n, bad.data(), now));
  CHECK(batch.to_bytes() == before);
  dltest::record("bytes", batch.to_bytes());
}

DL_TEST(large_batches_fold_into_the_slot_an_in_place_fill_would_use) {
  // Batches above the in-place size are counted privately and folded: the
  // ring, its counters and the place reported equal those of small batches.
  dltest::Random rng(25);
  std::vector<double> values(5000);
  for (double& v : values) v = rng.bell();
  const double now = 6000.0;
  using W = Window<Histogram>;
  W big(Histogram(Axis::uniform(-2, 2, 16)), 60.0, 10), small(Histogram(Axis::uniform(-2, 2, 16)), 60.0, 10);
  for (double t : {now - 30.0, now - 5000.0, now + 500.0, now + 61.0}) {  // in the ring, late, future, look-ahead
    const W::Placed placed = big.fill(values.data(), values.size(), t, now);
    W::Placed last = W::Placed::slot;
    for (std::size_t i = 0; i < values.size(); i += 1000) last = small.fill(values.data() + i, 1000, t, now);
    CHECK(placed == last);
  }
  CHECK(big.to_bytes() == small.to_bytes());
  CHECK_EQ(big.late(), std::uint64_t(5000));
  CHECK_EQ(big.future(), std::uint64_t(5000));

  Window<QuantileSketch> sketches(QuantileSketch(6, 512), 60.0, 10), pieces(QuantileSketch(6, 512), 60.0, 10);
  sketches.fill(values.data(), values.size(), now, now);
  for (std::size_t i = 0; i < values.size(); i += 500) pieces.fill(values.data() + i, 500, now, now);
  CHECK(sketches.merged(std::numeric_limits<double>::infinity(), now) == pieces.merged(std::numeric_limits<double>::infinity(), now));
}

namespace {

// Wait hooks that count their calls and check they are paired.
std::atomic<int> released{0}, reacquired{0};
int token_value = 7;
void* count_release() {
  released.fetch_add(1);
  return &token_value;
}
void count_reacquire(void* token) {
  CHECK(token == &token_value);
  reacquired.fetch_add(1);
}
const driftline::WaitHooks counting_hooks{&count_release, &count_reacquire};

}  // namespace

DL_TEST(a_contended_lock_calls_the_wait_hooks_around_the_wait) {
  driftline::set_wait_hooks(&counting_hooks);
  driftline::Mutex mutex;
  {
    driftline::Lock uncontended(mutex);  // the fast path never calls a hook
  }
  CHECK_EQ(released.load(), 0);
  mutex.lock();
  std::atomic<bool> acquired{false};
  std::thread waiter([&] {
    driftline::Lock lock(mutex);
    acquired = true;
  });
  while (released.load() == 0) std::this_thread::yield();  // it released "its host's lock" before waiting
  CHECK(!acquired.load());
  CHECK_EQ(reacquired.load(), 0);
  mutex.unlock();
  waiter.join();
  CHECK(acquired.load());
  CHECK_EQ(released.load(), 1);
  CHECK_EQ(reacquired.load(), 1);
  driftline::set_wait_hooks(nullptr);
}

DL_TEST(contended_locks_exclude_and_wake_every_waiter) {
  // Four threads on two locks that share parking slots with nothing else:
  // every increment under a lock is seen (no two holders at once), and every
  // thread finishes (no waiter is left parked after an unlock).
  driftline::Mutex locks[2];
  std::uint64_t counts[2] = {0, 0};
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < kPerThread; ++k) {
        const int which = (i + k) % 2;
        driftline::Lock lock(locks[which]);
        const std::uint64_t seen = counts[which];
        if (k % 64 == 0) std::this_thread::yield();  // hold it a while now and then: waiters park
        counts[which] = seen + 1;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK_EQ(counts[0] + counts[1], std::uint64_t(4 * kPerThread));
  CHECK(locks[0].try_lock() && locks[1].try_lock());
  CHECK(!locks[0].try_lock());
  locks[0].unlock();
  locks[1].unlock();
}

DL_TEST(concurrent_batches_and_records_lose_nothing) {
  dltest::Random rng(26);
  std::vector<double> values(40000);
  for (double& v : values) v = rng.heavy_tail();
  QuantileSketch shared(6, 256), alone(6, 256);
  alone.fill(values.data(), values.size());
  std::thread batches([&] {
    for (std::size_t i = 0; i < 20000; i += 5000) shared.fill(values.data() + i, 5000);
  });
  for (std::size_t i = 20000; i < values.size(); ++i) shared.record(values[i]);
  batches.join();
  CHECK_EQ(shared.count(), alone.count());
  CHECK_EQ(shared.scale(), alone.scale());
  CHECK(shared.buckets(false) == alone.buckets(false));
  CHECK_EQ(shared.min(), alone.min());
  CHECK_EQ(shared.max(), alone.max());
}

// Single values (record) and single rows (FeatureWindow::observe of one row)
// are staged and counted later; a window read after every call counts each
// at once. Late, future and expiring values and a clock that steps back must
// leave both in the same state.
DL_TEST(staged_single_values_and_rows_equal_counting_at_once) {
  dltest::Random rng(31);
  Window<Histogram> staged(Histogram(Axis::uniform(-2, 2, 8)), 10.0, 6, true);
  Window<Histogram> direct(Histogram(Axis::uniform(-2, 2, 8)), 10.0, 6, true);
  std::vector<Axis> axes{Axis::uniform(-2, 2, 8), Axis::variable({-1.0, 0.0, 1.0})};
  driftline::FeatureWindow staged_rows(axes, 10.0, 6), direct_rows(axes, 10.0, 6);
  const double steps[] = {0.0, 0.4, 4.0, 70.0, -3.0};
  const double offsets[] = {0.0, 0.0, -25.0, -300.0, 15.0, 500.0};
  double now = 1000.0;
  for (int i = 0; i < 900; ++i) {
    now += steps[rng.integer(0, 4)];
    const double t = now + offsets[rng.integer(0, 5)];
    const double x = rng.bell();
    staged.record(x, t, now);
    direct.record(x, t, now);
    CHECK_EQ(direct.total(), std::uint64_t(i + 1));  // a read counts what is staged
    const double y = rng.bell();
    const double row[2] = {x, y};
    const double* columns[2] = {row, row + 1};
    const std::ptrdiff_t strides[2] = {0, 0};
    staged_rows.observe(driftline::FeatureRows{columns, strides}, 1, t, now);
    direct_rows.observe(driftline::FeatureRows{columns, strides}, 1, t, now);
    CHECK_EQ(direct_rows.staged(), std::size_t(1));
    CHECK_EQ(direct_rows.ring().total(), std::uint64_t(i + 1));
    CHECK_EQ(direct_rows.staged(), std::size_t(0));
  }
  CHECK(staged.to_bytes() == direct.to_bytes());
  CHECK(staged_rows.to_bytes() == direct_rows.to_bytes());
  CHECK_THROWS(std::invalid_argument, staged.record(0.0, std::nan(""), now));
  CHECK_EQ(staged.total(), std::uint64_t(900));
}
