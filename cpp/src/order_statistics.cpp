#include "driftline/order_statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "driftline/kernels.hpp"

namespace driftline {
namespace {

// Places the order statistics of the given ranks (sorted, unique, < size) of
// v[0..size) at their positions, by recursive nth_element around the middle rank.
void select_ranks(double* v, std::size_t begin, std::size_t end, const std::uint64_t* ranks, std::size_t count) {
  if (count == 0 || begin >= end) return;
  const std::size_t middle = count / 2;
  const auto r = std::size_t(ranks[middle]);
  std::nth_element(v + begin, v + r, v + end);
  select_ranks(v, begin, r, ranks, middle);
  select_ranks(v, r + 1, end, ranks + middle + 1, count - middle - 1);
}

// numpy's _lerp: a + (b - a) t, or b - (b - a)(1 - t) for t >= 0.5, each
// operation rounded on its own (no contraction: CMakeLists.txt).
double numpy_lerp(double a, double b, double t) {
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

struct Bracket {
  double lo, hi;            // closed interval of values
  std::uint64_t below = 0;  // values < lo
  std::vector<double> inside;
};

}  // namespace

ReferenceQuantiles linear_quantiles(const double* x, std::size_t n, const QuantileSketch& sketch,
                                    const std::vector<double>& qs) {
  const std::uint64_t count = sketch.count();
  if (count == 0) throw std::invalid_argument("no finite values to take quantiles of");
  for (double q : qs) {
    if (!(q >= 0.0 && q <= 1.0)) throw std::invalid_argument("quantiles must be in [0, 1], got " + std::to_string(q));
  }
  // numpy: virtual index (n - 1) * q; neighbours floor and floor + 1; at or past
  // the last index both are the last.
  const double last = double(count - 1);
  std::vector<std::uint64_t> previous(qs.size()), next(qs.size());
  std::vector<double> gamma(qs.size());
  std::vector<std::uint64_t> ranks;
  for (std::size_t k = 0; k < qs.size(); ++k) {
    const double virtual_index = last * qs[k];
    const double floor_index = std::floor(virtual_index);
    gamma[k] = virtual_index - floor_index;
    if (virtual_index >= last) {
      previous[k] = next[k] = count - 1;
    } else {
      previous[k] = std::uint64_t(floor_index);
      next[k] = previous[k] + 1;
    }
    ranks.push_back(previous[k]);
    ranks.push_back(next[k]);
  }
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());

  // Brackets of the ranks, merged where they touch, ascending and disjoint.
  std::vector<Bracket> brackets;
  std::vector<std::size_t> bracket_of_rank(ranks.size());
  for (std::size_t j = 0; j < ranks.size(); ++j) {
    const auto b = sketch.rank_bracket(ranks[j]);
    if (!brackets.empty() && b.first <= std::nextafter(brackets.back().hi, std::numeric_limits<double>::infinity())) {
      brackets.back().hi = std::max(brackets.back().hi, b.second);
    } else {
      brackets.push_back(Bracket{b.first, b.second, 0, {}});
    }
    bracket_of_rank[j] = brackets.size() - 1;
  }
  // Pass 1 (the dispatched compare-and-count kernel): values >= each bracket's
  // low end, hence the values below it. -inf is below every bracket (their
  // bounds are clamped to the finite range): it is not ranked.
  const Kernels& kernels = active_kernels();
  const auto m = std::uint32_t(brackets.size());
  std::vector<double> lows(m), highs(m);
  for (std::uint32_t j = 0; j < m; ++j) {
    lows[j] = brackets[j].lo;
    highs[j] = brackets[j].hi;
  }
  std::vector<std::uint64_t> at_least(std::size_t(m) + 1, 0);
  kernels.cumulative(x, n, lows.data(), m, at_least.data());
  const std::uint64_t nan_count = at_least[m];
  const std::uint64_t negative_inf = sketch.negative_inf_count();
  bool consistent = n - nan_count == count + negative_inf + sketch.positive_inf_count();
  for (std::uint32_t j = 0; j < m && consistent; ++j) {
    const std::uint64_t below = n - nan_count - at_least[j];
    consistent = below >= negative_inf;
    brackets[j].below = below - std::min(below, negative_inf);
  }
  // Pass 2: copy the values inside the brackets (a few percent), chunk by chunk.
  constexpr std::size_t kChunk = 4096;
  std::vector<double> members(kChunk);
  for (std::size_t start = 0; start < n && consistent; start += kChunk) {
    const std::size_t c = std::min(kChunk, n - start);
    const std::size_t found = kernels.collect_inside(x + start, c, lows.data(), highs.data(), m, members.data());
    for (std::size_t i = 0; i < found; ++i) {
      const double v = members[i];
      const auto j = std::size_t(std::upper_bound(lows.begin(), lows.end(), v) - lows.begin()) - 1;
      brackets[j].inside.push_back(v);
    }
  }

  // Select each rank inside its bracket; check the bracket really holds it.
  std::vector<double> value_of_rank(ranks.size());
  for (std::size_t j = 0; j < ranks.size() && consistent; ++j) {
    const Bracket& b = brackets[bracket_of_rank[j]];
    consistent = ranks[j] >= b.below && ranks[j] - b.below < b.inside.size();
  }
  if (consistent) {
    for (std::size_t j0 = 0; j0 < ranks.size();) {
      std::size_t j1 = j0;
      while (j1 < ranks.size() && bracket_of_rank[j1] == bracket_of_rank[j0]) ++j1;
      Bracket& b = brackets[bracket_of_rank[j0]];
      std::vector<std::uint64_t> local;
      for (std::size_t j = j0; j < j1; ++j) local.push_back(ranks[j] - b.below);
      select_ranks(b.inside.data(), 0, b.inside.size(), local.data(), local.size());
      for (std::size_t j = j0; j < j1; ++j) value_of_rank[j] = b.inside[std::size_t(local[j - j0])];
      j0 = j1;
    }
  } else {
    std::vector<double> all;
    all.reserve(std::size_t(count));
    for (std::size_t i = 0; i < n; ++i) {
      if (std::isfinite(x[i])) all.push_back(x[i]);
    }
    if (all.size() != count) throw std::invalid_argument("the sketch does not hold exactly the sample's values");
    select_ranks(all.data(), 0, all.size(), ranks.data(), ranks.size());
    for (std::size_t j = 0; j < ranks.size(); ++j) value_of_rank[j] = all[std::size_t(ranks[j])];
    brackets.clear();
  }

  auto lookup = [&](std::uint64_t r) {
    return std::size_t(std::lower_bound(ranks.begin(), ranks.end(), r) - ranks.begin());
  };
  ReferenceQuantiles out;
  for (std::size_t k = 0; k < qs.size(); ++k) {
    const std::size_t jp = lookup(previous[k]), jn = lookup(next[k]);
    const double v = numpy_lerp(value_of_rank[jp], value_of_rank[jn], gamma[k]);
    out.values.push_back(v);
    // Values equal to v lie between the two neighbours, so in their brackets.
    std::uint64_t equal = 0;
    if (!brackets.empty()) {
      const std::size_t bp = bracket_of_rank[jp], bn = bracket_of_rank[jn];
      for (double y : brackets[bp].inside) equal += y == v ? 1 : 0;
      if (bn != bp) {
        for (double y : brackets[bn].inside) equal += y == v ? 1 : 0;
      }
    } else {
      for (std::size_t i = 0; i < n; ++i) equal += x[i] == v ? 1 : 0;
    }
    out.equal.push_back(equal);
  }
  return out;
}

}  // namespace driftline
