#include "driftline/evaluator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "driftline/distributions.hpp"
#include "driftline/drift.hpp"

namespace driftline {
namespace {

constexpr double kNotANumber = std::numeric_limits<double>::quiet_NaN();
constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kSmoothing = 0.5;  // psi()'s default pseudo-count, for every PSI of a report

// The status after judged levels (0 ok, 1 warn, 2 alert), oldest first: rises
// to L once the last `consecutive` levels are all >= L, falls to the highest of
// the last `consecutive` once they are all below the current status
// (driftline.policy.hysteresis is the same rule, for latency).
int hysteresis(const std::vector<int>& levels, std::size_t consecutive) {
  int state = 0;
  for (std::size_t i = consecutive - 1; i < levels.size(); ++i) {
    int low = 2, high = 0;
    for (std::size_t j = i + 1 - consecutive; j <= i; ++j) {
      low = std::min(low, levels[j]);
      high = std::max(high, levels[j]);
    }
    if (low > state) {
      state = low;
    } else if (high < state) {
      state = high;
    }
  }
  return state;
}

// Slots of feature f in a FeatureBlock: its cells and the NaN slot.
std::size_t slots_of(const FeatureBlock& block, std::size_t f) {
  const std::size_t end = f + 1 < block.features() ? block.offset(f + 1) : block.counts().size();
  return end - block.offset(f);
}

}  // namespace

Evaluator::Evaluator(std::vector<ReferenceFeature> features, const JudgementPolicy& policy) : policy_(policy) {
  if (features.empty()) throw std::invalid_argument("an evaluator needs at least one feature");
  if (policy.min_count == 0 || policy.consecutive == 0) {
    throw std::invalid_argument("min_count and consecutive must be at least 1");
  }
  if (!(policy.noise_alpha > 0.0 && policy.noise_alpha < 1.0)) {
    throw std::invalid_argument("noise_alpha must be in (0, 1)");
  }
  sets_.resize(1);
  sets_[0] = make_tables(std::move(features));
}

std::vector<Evaluator::Table> Evaluator::make_tables(std::vector<ReferenceFeature> features) const {
  std::vector<Table> tables;
  tables.reserve(features.size());
  for (std::size_t f = 0; f < features.size(); ++f) {
    ReferenceFeature& r = features[f];
    if (r.cells.size() < 3) {
      throw std::invalid_argument("feature " + std::to_string(f) + " needs underflow, bins and overflow cells");
    }
    Table t;
    t.categorical = r.categorical;
    t.constant = r.constant;
    t.cells = r.cells.size();
    t.other = t.cells - 2;
    t.n = 0.0;
    t.mass_cells = 0;
    for (double c : r.cells) {
      if (!(c >= 0.0) || !std::isfinite(c)) throw std::invalid_argument("reference counts must be finite and >= 0");
      t.n += c;
      t.mass_cells += c > 0.0 ? 1 : 0;
    }
    if (!(r.missing >= 0.0) || !(r.total >= r.missing) || !std::isfinite(r.total)) {
      throw std::invalid_argument("reference missing and total counts are inconsistent");
    }
    t.smoothed = smoothed_proportions(r.cells.data(), t.cells, kSmoothing);
    t.missing_rate = r.total > 0.0 ? r.missing / r.total : 0.0;
    const double part = t.categorical ? r.cells[t.other] : r.cells.front() + r.cells.back();
    t.rate = t.n > 0.0 ? part / t.n : 0.0;
    t.floor_constant = chi2_isf(policy_.noise_alpha, double(std::max<std::size_t>(t.mass_cells, 2) - 1));
    t.counts = std::move(r.cells);
    tables.push_back(std::move(t));
  }
  return tables;
}

void Evaluator::set_seasons(std::size_t slots, double slot_seconds, double offset, std::int64_t phase,
                            std::vector<std::vector<ReferenceFeature>> references) {
  if (slots < 1 || references.size() != slots) throw std::invalid_argument("one reference (or none) per season slot");
  if (!(slot_seconds > 0.0) || !std::isfinite(slot_seconds) || !std::isfinite(offset)) {
    throw std::invalid_argument("season slots need a positive, finite length and a finite offset");
  }
  std::vector<std::vector<Table>> sets(1);
  std::vector<std::int32_t> set_of(slots, 0);
  for (std::size_t s = 0; s < slots; ++s) {
    if (references[s].empty()) continue;  // too few reference rows: the overall reference judges
    std::vector<Table> tables = make_tables(std::move(references[s]));
    if (tables.size() != sets_[0].size()) throw std::invalid_argument("a season's reference has other features");
    for (std::size_t f = 0; f < tables.size(); ++f) {
      if (tables[f].cells != sets_[0][f].cells || tables[f].categorical != sets_[0][f].categorical) {
        throw std::invalid_argument("a season's reference has other cells than the overall one");
      }
    }
    set_of[s] = std::int32_t(sets.size());
    sets.push_back(std::move(tables));
  }
  Lock lock(mutex_);
  sets.front() = std::move(sets_.front());
  sets_ = std::move(sets);
  season_set_ = std::move(set_of);
  season_seconds_ = slot_seconds;
  season_offset_ = offset;
  season_phase_ = phase;
  cached_window_ = 0;  // verdicts depend on the references
}

int Evaluator::season_of(double t) const noexcept {
  if (season_set_.empty() || std::isnan(t)) return -1;
  const auto n = std::int64_t(season_set_.size());
  // As driftline.seasons: the whole second of t decides (slot edges are whole seconds).
  const double k = std::floor((std::floor(t) + season_offset_) / season_seconds_);
  if (!(std::fabs(k) < 9.0e15)) return -1;  // no exact hour for such a time
  return int((((std::int64_t(k) + season_phase_) % n) + n) % n);
}

std::size_t Evaluator::set_for(double t) const noexcept {
  const int season = season_of(t);
  return season < 0 ? 0 : std::size_t(season_set_[std::size_t(season)]);
}

double Evaluator::excess_level(double observed, double reference, double n, double reference_n, double warn,
                               double alert) const {
  // A rate counts as raised only beyond three standard errors of the
  // difference of two proportions, so small buckets cannot alarm on noise.
  const double diff = observed - reference;
  const double var = reference * (1.0 - reference);
  const double se = std::sqrt(var / std::max(n, 1.0) + var / std::max(reference_n, 1.0));
  const bool real = diff > 3.0 * se;
  return real && diff >= alert ? 2 : (real && diff >= warn ? 1 : 0);
}

Evaluator::BucketVerdict Evaluator::judge_bucket(const Table& t, const std::uint64_t* slot_counts,
                                                 std::uint64_t rows, double minimum, double maximum) const {
  BucketVerdict v;
  std::vector<double> cells(t.cells);
  double n = 0.0;
  std::size_t nonzero = 0;
  for (std::size_t i = 0; i < t.cells; ++i) {
    cells[i] = double(slot_counts[i]);
    n += cells[i];
    nonzero += slot_counts[i] != 0 ? 1 : 0;
  }
  const double nan_count = double(slot_counts[t.cells]);
  const double b_rows = double(rows);
  v.psi = psi_smoothed(t.smoothed.data(), cells.data(), t.cells, n, kSmoothing, nullptr);
  v.floor = t.floor_constant * (1.0 / std::max(t.n, 1.0) + 1.0 / std::max(n, 1.0));
  v.missing_rate = b_rows > 0.0 ? nan_count / b_rows : 0.0;
  const double part = t.categorical ? cells[t.other] : cells.front() + cells.back();
  v.rate_value = n > 0.0 ? part / n : 0.0;
  if (rows < policy_.min_count) return v;  // level stays -1: not judged

  const bool drift_ok = n >= double(policy_.min_count);
  const bool above_floor = v.psi > v.floor;
  if (drift_ok && above_floor && v.psi >= policy_.psi_alert) {
    v.drift = 2;
  } else if (drift_ok && above_floor && v.psi >= policy_.psi_warn) {
    v.drift = 1;
  }
  v.missing = std::uint8_t(excess_level(v.missing_rate, t.missing_rate, b_rows, t.n, policy_.missing_warn,
                                        policy_.missing_alert));
  if (drift_ok) {
    const double warn = t.categorical ? policy_.unseen_warn : policy_.range_warn;
    const double alert = t.categorical ? policy_.unseen_alert : policy_.range_alert;
    v.rate = std::uint8_t(excess_level(v.rate_value, t.rate, n, t.n, warn, alert));
    const bool all_equal = t.categorical ? nonzero == 1 : minimum == maximum;
    v.stuck = all_equal && !t.constant ? 2 : 0;
  }
  v.level = std::int8_t(std::max({v.drift, v.missing, v.rate, v.stuck}));
  return v;
}

Evaluation Evaluator::evaluate(FeatureWindow& window, double span, double now) {
  if (std::isnan(now)) throw std::invalid_argument("clock reading must not be NaN");
  if (!(span >= 0.0)) throw std::invalid_argument("span must be a non-negative number of seconds");
  Lock lock(mutex_);  // the cache and the reference sets
  const FeatureBlock& prototype = window.ring().prototype();
  const std::size_t features = sets_[0].size();
  if (prototype.features() != features) {
    throw std::invalid_argument("the window has " + std::to_string(prototype.features()) +
                                " features, the reference " + std::to_string(features));
  }
  for (std::size_t f = 0; f < features; ++f) {
    if (slots_of(prototype, f) != sets_[0][f].cells + 1) {
      throw std::invalid_argument("feature " + std::to_string(f) + " has other bins in the window than in the reference");
    }
  }
  const double width = window.ring().width();
  const std::int64_t ring_size = std::int64_t(window.ring().length()) + 1;
  const std::size_t cells = prototype.counts().size();
  const std::vector<double> last_seen = window.last_seen();

  if (cached_window_ != window.identity() || cache_.size() != std::size_t(ring_size)) {
    cache_.assign(std::size_t(ring_size), CachedBucket{});
    cached_window_ = window.identity();
  }

  // Under the window's lock: the span's sums, and copies of the completed
  // buckets the cache does not hold yet (judged after the lock is released).
  std::vector<std::uint64_t> span_counts(cells, 0), span_absent(features, 0), span_invalid(features, 0);
  std::vector<double> span_min(features, kInfinity), span_max(features, -kInfinity);
  std::uint64_t span_rows = 0;
  std::vector<std::pair<std::int64_t, std::uint64_t>> completed;  // (slot id, rows), oldest first
  std::vector<std::pair<std::int64_t, FeatureBlock>> changed;
  std::int64_t newest = window.ring().head();  // the span's newest slot (the head when it selects none)
  Evaluation out;
  window.ring().visit(now, [&](std::int64_t k, const FeatureBlock& block) {
    const double start = double(k) * width;
    const double end = start + width;  // as Python's `starts + bucket`
    if (end > now - span) {
      newest = k;
      span_rows += block.rows();
      const std::vector<std::uint64_t>& c = block.counts();
      for (std::size_t i = 0; i < cells; ++i) span_counts[i] += c[i];
      for (std::size_t f = 0; f < features; ++f) {
        span_absent[f] += block.absent()[f];
        span_invalid[f] += block.invalid()[f];
        span_min[f] = std::min(span_min[f], block.minimum()[f]);
        span_max[f] = std::max(span_max[f], block.maximum()[f]);
      }
    }
    if (end <= now) {
      completed.emplace_back(k, block.rows());
      out.bucket_starts.push_back(start);
      const CachedBucket& cached = cache_[std::size_t(((k % ring_size) + ring_size) % ring_size)];
      if (cached.slot != k || cached.rows != block.rows()) changed.emplace_back(k, block);
    }
  });

  for (const auto& [k, block] : changed) {
    CachedBucket& entry = cache_[std::size_t(((k % ring_size) + ring_size) % ring_size)];
    entry.slot = k;
    entry.rows = block.rows();
    entry.verdicts.resize(features);
    // Each bucket is judged against the reference of the season its start falls in.
    const std::vector<Table>& tables = sets_[set_for(double(k) * width)];
    for (std::size_t f = 0; f < features; ++f) {
      entry.verdicts[f] = judge_bucket(tables[f], block.counts().data() + block.offset(f), block.rows(),
                                       block.minimum()[f], block.maximum()[f]);
    }
  }
  // The span's figures compare with the reference of its newest bucket's season.
  const int span_season = season_of(double(newest) * width);
  const std::vector<Table>& span_tables = sets_[set_for(double(newest) * width)];

  const std::size_t buckets = completed.size();
  out.rows = span_rows;
  out.levels.assign(features * buckets, -1);
  out.features.resize(features);
  std::vector<int> judged;
  std::vector<double> cur;
  for (std::size_t f = 0; f < features; ++f) {
    const Table& t = span_tables[f];
    FeatureVerdict& v = out.features[f];
    v.season = span_season >= 0 && season_set_[std::size_t(span_season)] > 0 ? span_season : -1;
    // --- per completed bucket: levels, then hysteresis
    judged.clear();
    const BucketVerdict* latest = nullptr;
    for (std::size_t b = 0; b < buckets; ++b) {
      const std::int64_t k = completed[b].first;
      const BucketVerdict& bv = cache_[std::size_t(((k % ring_size) + ring_size) % ring_size)].verdicts[f];
      out.levels[f * buckets + b] = bv.level;
      if (bv.level >= 0) {
        judged.push_back(bv.level);
        latest = &bv;
      }
    }
    const int state = hysteresis(judged, policy_.consecutive);
    v.bucket_psi = v.bucket_floor = v.bucket_missing = v.bucket_rate = kNotANumber;
    if (latest != nullptr) {
      v.level = v.state = state;
      v.bucket_psi = latest->psi;
      v.bucket_floor = latest->floor;
      v.bucket_missing = latest->missing_rate;
      v.bucket_rate = latest->rate_value;
      if (latest->stuck) v.reasons |= kReasonStuck;
      if (latest->drift) v.reasons |= kReasonDrift;
      if (latest->missing) v.reasons |= kReasonMissing;
      if (latest->rate) v.reasons |= kReasonRate;
      if (state > 0 && v.reasons == 0) v.reasons |= kReasonHeld;
    }

    // --- over the span
    const std::uint64_t* sc = span_counts.data() + prototype.offset(f);
    cur.assign(t.cells, 0.0);
    std::uint64_t n = 0;
    std::size_t nonzero = 0;
    for (std::size_t i = 0; i < t.cells; ++i) {
      cur[i] = double(sc[i]);
      n += sc[i];
      nonzero += sc[i] != 0 ? 1 : 0;
    }
    const std::uint64_t nan_count = sc[t.cells];
    v.rows = n + nan_count;
    v.count = n;
    v.absent = span_absent[f];
    v.invalid = span_invalid[f];
    v.minimum = span_min[f];
    v.maximum = span_max[f];
    const double dn = double(n);
    v.seconds_since_value = last_seen[f] == -kInfinity ? kNotANumber : std::max(0.0, now - last_seen[f]);
    const bool never = std::isnan(v.seconds_since_value) && v.rows >= policy_.min_count;
    if (never || v.seconds_since_value > policy_.stale_after) {
      v.level = 2;
      v.reasons |= never ? kReasonNeverSeen : kReasonStale;
    }
    v.psi = v.psi_floor = v.js = v.ks = v.ks_bound = v.ks_pvalue = kNotANumber;
    if (n >= 1) {
      double terms[64];
      std::vector<double> many;
      double* term = terms;
      if (t.cells > 64) {
        many.resize(t.cells);
        term = many.data();
      }
      const double value = psi_smoothed(t.smoothed.data(), cur.data(), t.cells, dn, kSmoothing, term);
      v.psi = t.n > 0.0 ? value : kNotANumber;
      v.psi_floor = t.floor_constant * (1.0 / std::max(t.n, 1.0) + 1.0 / dn);
      v.js = js_distance(t.counts, cur);
      // The three largest positive terms (ties: the lower cell first).
      for (int slot = 0; slot < 3; ++slot) {
        std::int32_t best = -1;
        for (std::size_t i = 0; i < t.cells; ++i) {
          if (!(term[i] > 0.0)) continue;
          bool taken = false;
          for (int s = 0; s < slot; ++s) taken = taken || v.top[s] == std::int32_t(i);
          if (!taken && (best < 0 || term[i] > term[best])) best = std::int32_t(i);
        }
        v.top[slot] = best;
        v.top_term[slot] = best >= 0 ? term[best] : kNotANumber;
        v.top_reference[slot] = best >= 0 && t.n > 0.0 ? t.counts[std::size_t(best)] / t.n : kNotANumber;
        v.top_current[slot] = best >= 0 ? cur[std::size_t(best)] / dn : kNotANumber;
      }
      if (!t.categorical && t.n >= 1.0) {
        // Statistic and bound from cumulative counts in O(cells); the p-value
        // from Kolmogorov's limiting distribution, O(1) whatever the counts
        // (ks_binned's finite-n kstwo value costs milliseconds at large n).
        const BinnedKsResult ks = ks_binned_statistic(t.counts, cur);
        v.ks = ks.statistic;
        v.ks_bound = ks.bound;
        const double en = t.n * dn / (t.n + dn);
        v.ks_pvalue = kolmogorov_limit_sf(std::sqrt(en) * ks.statistic);
      }
    }
    if (t.categorical) {
      v.stuck = n >= policy_.min_count && nonzero == 1 && !t.constant;
    } else {
      v.stuck = n >= policy_.min_count && v.minimum == v.maximum && !t.constant;
    }
    const double part = t.categorical ? cur[t.other] : cur.front() + cur.back();
    v.rate = n > 0 ? part / dn : kNotANumber;
    v.missing_rate = v.rows > 0 ? double(nan_count) / double(v.rows) : kNotANumber;
  }
  return out;
}

}  // namespace driftline
