// driftline._core.Evaluator: converts reference tables and policy in, a report's arrays out.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "convert.hpp"
#include "driftline/evaluator.hpp"
#include "register.hpp"

namespace driftline::bindings {

namespace py = pybind11;

namespace {

template <typename V>
V required(const py::dict& d, const char* key) {
  if (!d.contains(key)) throw py::value_error(std::string("the policy needs '") + key + "'");
  return d[key].cast<V>();
}

JudgementPolicy policy_from(const py::dict& d) {
  JudgementPolicy p;
  p.psi_warn = required<double>(d, "psi_warn");
  p.psi_alert = required<double>(d, "psi_alert");
  p.noise_alpha = required<double>(d, "noise_alpha");
  p.min_count = required<std::uint64_t>(d, "min_count");
  p.consecutive = required<std::uint32_t>(d, "consecutive");
  p.missing_warn = required<double>(d, "missing_warn");
  p.missing_alert = required<double>(d, "missing_alert");
  p.range_warn = required<double>(d, "range_warn");
  p.range_alert = required<double>(d, "range_alert");
  p.unseen_warn = required<double>(d, "unseen_warn");
  p.unseen_alert = required<double>(d, "unseen_alert");
  p.stale_after = required<double>(d, "stale_after");
  return p;
}

// features: (categorical, constant, cells, missing, total) per feature.
std::unique_ptr<Evaluator> make_evaluator(const py::list& features, const py::dict& policy) {
  std::vector<ReferenceFeature> refs;
  refs.reserve(features.size());
  for (py::handle item : features) {
    const auto spec = item.cast<py::tuple>();
    if (spec.size() != 5) throw py::value_error("a reference feature is (categorical, constant, cells, missing, total)");
    ReferenceFeature r;
    r.categorical = spec[0].cast<bool>();
    r.constant = spec[1].cast<bool>();
    Float64Array cells = as_float64_vector(spec[2], "cells");
    r.cells.assign(cells.data(), cells.data() + cells.size());
    r.missing = spec[3].cast<double>();
    r.total = spec[4].cast<double>();
    refs.push_back(std::move(r));
  }
  return std::make_unique<Evaluator>(std::move(refs), policy_from(policy));
}

template <typename V, typename Get>
py::array_t<V> column(const std::vector<FeatureVerdict>& verdicts, Get get) {
  py::array_t<V> out{py::ssize_t(verdicts.size())};
  V* p = out.mutable_data();
  for (const FeatureVerdict& v : verdicts) *p++ = V(get(v));
  return out;
}

template <typename Get>
py::array_t<double> top_column(const std::vector<FeatureVerdict>& verdicts, Get get) {
  py::array_t<double> out({py::ssize_t(verdicts.size()), py::ssize_t(3)});
  double* p = out.mutable_data();
  for (const FeatureVerdict& v : verdicts) {
    for (int s = 0; s < 3; ++s) *p++ = get(v, s);
  }
  return out;
}

py::dict evaluate(Evaluator& e, FeatureWindow& window, double span, double now) {
  Evaluation ev;
  {
    py::gil_scoped_release release;  // the caller keeps both objects alive
    ev = e.evaluate(window, span, now);
  }
  const auto& v = ev.features;
  py::dict out;
  out["level"] = column<std::int8_t>(v, [](const FeatureVerdict& f) { return f.level; });
  out["state"] = column<std::int8_t>(v, [](const FeatureVerdict& f) { return f.state; });
  out["reasons"] = column<std::uint32_t>(v, [](const FeatureVerdict& f) { return f.reasons; });
  out["bucket_psi"] = column<double>(v, [](const FeatureVerdict& f) { return f.bucket_psi; });
  out["bucket_floor"] = column<double>(v, [](const FeatureVerdict& f) { return f.bucket_floor; });
  out["bucket_missing"] = column<double>(v, [](const FeatureVerdict& f) { return f.bucket_missing; });
  out["bucket_rate"] = column<double>(v, [](const FeatureVerdict& f) { return f.bucket_rate; });
  out["rows"] = column<std::uint64_t>(v, [](const FeatureVerdict& f) { return f.rows; });
  out["count"] = column<std::uint64_t>(v, [](const FeatureVerdict& f) { return f.count; });
  out["absent"] = column<std::uint64_t>(v, [](const FeatureVerdict& f) { return f.absent; });
  out["invalid"] = column<std::uint64_t>(v, [](const FeatureVerdict& f) { return f.invalid; });
  out["psi"] = column<double>(v, [](const FeatureVerdict& f) { return f.psi; });
  out["psi_floor"] = column<double>(v, [](const FeatureVerdict& f) { return f.psi_floor; });
  out["js"] = column<double>(v, [](const FeatureVerdict& f) { return f.js; });
  out["ks"] = column<double>(v, [](const FeatureVerdict& f) { return f.ks; });
  out["ks_bound"] = column<double>(v, [](const FeatureVerdict& f) { return f.ks_bound; });
  out["ks_pvalue"] = column<double>(v, [](const FeatureVerdict& f) { return f.ks_pvalue; });
  out["missing_rate"] = column<double>(v, [](const FeatureVerdict& f) { return f.missing_rate; });
  out["rate"] = column<double>(v, [](const FeatureVerdict& f) { return f.rate; });
  out["minimum"] = column<double>(v, [](const FeatureVerdict& f) { return f.minimum; });
  out["maximum"] = column<double>(v, [](const FeatureVerdict& f) { return f.maximum; });
  out["seconds_since_value"] = column<double>(v, [](const FeatureVerdict& f) { return f.seconds_since_value; });
  out["stuck"] = column<bool>(v, [](const FeatureVerdict& f) { return f.stuck; });
  py::array_t<std::int32_t> top({py::ssize_t(v.size()), py::ssize_t(3)});
  std::int32_t* t = top.mutable_data();
  for (const FeatureVerdict& f : v) {
    for (int s = 0; s < 3; ++s) *t++ = f.top[s];
  }
  out["top"] = top;
  out["top_term"] = top_column(v, [](const FeatureVerdict& f, int s) { return f.top_term[s]; });
  out["top_reference"] = top_column(v, [](const FeatureVerdict& f, int s) { return f.top_reference[s]; });
  out["top_current"] = top_column(v, [](const FeatureVerdict& f, int s) { return f.top_current[s]; });
  const auto buckets = py::ssize_t(ev.bucket_starts.size());
  py::array_t<std::int8_t> levels({py::ssize_t(v.size()), buckets});
  std::copy(ev.levels.begin(), ev.levels.end(), levels.mutable_data());
  out["levels"] = levels;
  out["bucket_starts"] = py::array_t<double>(buckets, ev.bucket_starts.data());
  out["span_rows"] = ev.rows;
  return out;
}

}  // namespace

void register_evaluator(py::module_& m) {
  py::class_<Evaluator>(m, "Evaluator", "A Monitor's judgement: reference tables built once, a report in one call.")
      .def(py::init(&make_evaluator), py::arg("features"), py::arg("policy"))
      .def("evaluate", &evaluate, py::arg("window"), py::arg("span"), py::arg("now"))
      .def_property_readonly("features", &Evaluator::features);
  m.attr("REASON_STUCK") = std::uint32_t(kReasonStuck);
  m.attr("REASON_DRIFT") = std::uint32_t(kReasonDrift);
  m.attr("REASON_MISSING") = std::uint32_t(kReasonMissing);
  m.attr("REASON_RATE") = std::uint32_t(kReasonRate);
  m.attr("REASON_HELD") = std::uint32_t(kReasonHeld);
  m.attr("REASON_STALE") = std::uint32_t(kReasonStale);
  m.attr("REASON_NEVER_SEEN") = std::uint32_t(kReasonNeverSeen);
}

}  // namespace driftline::bindings
