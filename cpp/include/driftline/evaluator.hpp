// driftline/evaluator.hpp -- a Monitor's judgement: reference tables built once, a report in one call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "driftline/feature_window.hpp"
#include "driftline/mutex.hpp"

namespace driftline {

// The thresholds of driftline.Policy that judge features (the Python class
// documents each one and validates them before they get here).
struct JudgementPolicy {
  double psi_warn = 0.1, psi_alert = 0.25, noise_alpha = 0.001;
  std::uint64_t min_count = 100;
  std::uint32_t consecutive = 3;
  double missing_warn = 0.05, missing_alert = 0.2;
  double range_warn = 0.05, range_alert = 0.2;
  double unseen_warn = 0.05, unseen_alert = 0.2;
  double stale_after = 300.0;  // seconds; the Python layer resolves the "5 buckets" default
};

// One feature of the profile, as the evaluator needs it.
struct ReferenceFeature {
  bool categorical = false;
  bool constant = false;           // the reference holds one distinct value
  std::vector<double> cells;       // [underflow, bins..., overflow]; for categories the
                                   // "other" cell is the one before overflow
  double missing = 0.0;            // reference rows without a value
  double total = 0.0;              // reference rows
};

// Why a feature has its status (bit flags; the Python layer writes the text).
enum ReasonFlag : std::uint32_t {
  kReasonStuck = 1u << 0,    // every value of the latest judged bucket is equal
  kReasonDrift = 1u << 1,    // the latest judged bucket's PSI is at warn or alert, above its noise floor
  kReasonMissing = 1u << 2,  // its missing rate exceeds the reference's
  kReasonRate = 1u << 3,     // its out-of-range (numeric) or unseen (categorical) rate does
  kReasonHeld = 1u << 4,     // hysteresis holds a level the latest bucket no longer shows
  kReasonStale = 1u << 5,    // no value for longer than stale_after
  kReasonNeverSeen = 1u << 6,  // rows arrived but never a value for this feature
};

inline constexpr int kInsufficientData = -1;  // a level: no bucket could be judged

// Everything a report says about one feature.
struct FeatureVerdict {
  int level = kInsufficientData;  // -1 insufficient data, 0 ok, 1 warn, 2 alert
  int state = kInsufficientData;  // the level hysteresis gives, before staleness
  std::uint32_t reasons = 0;      // ReasonFlag bits
  // The latest judged bucket (NaN when none was judged).
  double bucket_psi, bucket_floor, bucket_missing, bucket_rate;
  // Over the report's span.
  std::uint64_t rows = 0, count = 0, absent = 0, invalid = 0;
  double psi, psi_floor, js, ks, ks_bound, ks_pvalue;  // NaN when not defined
  double missing_rate, rate;                           // rate: out of range or unseen
  double minimum, maximum;                             // +inf / -inf without a value
  double seconds_since_value;                          // NaN: never seen with a value
  bool stuck = false;
  int season = -1;  // the season slot whose reference the span's figures used; -1: the overall one
  // Up to three cells with the largest positive PSI terms, largest first (-1: none).
  std::int32_t top[3] = {-1, -1, -1};
  double top_term[3], top_reference[3], top_current[3];
};

struct Evaluation {
  std::vector<double> bucket_starts;  // the completed buckets of the ring, oldest first
  std::vector<std::int8_t> levels;    // features x completed buckets; -1 where not judged
  std::vector<FeatureVerdict> features;
  std::uint64_t rows = 0;             // rows in the span
};

// Evaluator: judges a FeatureWindow against a profile, feature by feature and
// bucket by bucket, under a JudgementPolicy (rules: driftline.Policy).
//
// The reference tables (smoothed proportions, rates, noise-floor constants)
// are built once. Each completed bucket's per-feature verdict is cached under
// (window identity, slot id, rows): a slot's counts only ever grow while it is
// in the ring, so an unchanged row count means unchanged contents, and a
// report re-judges only the buckets that changed since the last one. A report
// then costs O(buckets x cells) additions under the window's lock (the span
// sums, and a copy of each changed bucket) plus O(features x cells) arithmetic
// outside it, whatever the traffic.
//
// Thread safety: evaluate() may be called concurrently (calls serialize on
// the cache). Memory: the tables plus one cached verdict per feature and slot.
class Evaluator {
 public:
  // Throws std::invalid_argument for cell counts the window's features cannot
  // match (checked again against the window on every call), negative or
  // non-finite reference counts, or a policy with min_count or consecutive 0.
  Evaluator(std::vector<ReferenceFeature> features, const JudgementPolicy& policy);

  std::size_t features() const noexcept { return sets_[0].size(); }

  // Seasonal references: `slots` season slots of `slot_seconds` each (24 of
  // 3600 s for the hour of day, 168 for the hour of week); time t falls in
  // slot (floor((t + offset) / slot_seconds) + phase) mod slots. references[s]
  // holds slot s's features (the overall reference's cells) or is empty: that
  // slot falls back to the overall reference. Each completed bucket is then
  // judged against the reference of the slot its start falls in, and the
  // span's figures against that of the span's newest bucket. Clears the cache.
  void set_seasons(std::size_t slots, double slot_seconds, double offset, std::int64_t phase,
                   std::vector<std::vector<ReferenceFeature>> references);
  // The season slot of time t, or -1 without seasons.
  int season_of(double t) const noexcept;

  // The verdict at clock reading `now` over the last `span` seconds (buckets
  // whose end lies after now - span). Status uses every completed bucket of
  // the ring. Throws std::invalid_argument if the window's features do not
  // match the reference's (count or cells), or for a NaN now or negative span.
  Evaluation evaluate(FeatureWindow& window, double span, double now);

 private:
  struct Table {
    bool categorical, constant;
    std::size_t cells;             // underflow, bins, overflow
    std::size_t other;             // categorical: index of the "other" cell
    std::vector<double> counts;    // the reference cells
    std::vector<double> smoothed;  // their smoothed proportions (the PSI's p)
    double n;                      // non-missing reference values
    double missing_rate, rate;     // reference missing rate, out-of-range / other rate
    double floor_constant;         // chi2_isf(alpha, cells with mass - 1)
    std::size_t mass_cells;        // cells with reference mass, at least 2 for the floor
  };

  // A feature's verdict on one completed bucket.
  struct BucketVerdict {
    std::int8_t level = -1;  // -1: not judged (too few rows)
    std::uint8_t drift = 0, missing = 0, rate = 0, stuck = 0;  // each finding's level
    double psi = 0, floor = 0, missing_rate = 0, rate_value = 0;
  };
  struct CachedBucket {
    std::int64_t slot = 0;
    std::uint64_t rows = ~std::uint64_t(0);  // never a real count of a cached slot
    std::vector<BucketVerdict> verdicts;      // per feature
  };

  std::vector<Table> make_tables(std::vector<ReferenceFeature> features) const;
  std::size_t set_for(double t) const noexcept;  // index into sets_ for a bucket starting at t

  BucketVerdict judge_bucket(const Table& t, const std::uint64_t* slot_counts, std::uint64_t rows, double minimum,
                             double maximum) const;
  double excess_level(double observed, double reference, double n, double reference_n, double warn,
                      double alert) const;

  JudgementPolicy policy_;
  std::vector<std::vector<Table>> sets_;  // [0]: the overall reference; then one per season with its own
  std::vector<std::int32_t> season_set_;  // per season slot: its index in sets_ (0: falls back); empty: none
  double season_seconds_ = 3600.0, season_offset_ = 0.0;
  std::int64_t season_phase_ = 0;
  Mutex mutex_;  // guards the cache
  std::uint64_t cached_window_ = 0;
  std::vector<CachedBucket> cache_;  // by ring position
};

}  // namespace driftline
