// driftline._core.Evaluator: converts reference tables and policy in, a report's arrays out.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
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
struct ReportTypes;
}  // namespace

template <>
struct requires_init<ReportTypes> : std::true_type {};

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
std::vector<ReferenceFeature> references_from(const py::list& features) {
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
  return refs;
}

std::unique_ptr<Evaluator> make_evaluator(const py::list& features, const py::dict& policy) {
  return std::make_unique<Evaluator>(references_from(features), policy_from(policy));
}

// references: per season slot None (falls back to the overall reference) or features as for the constructor.
void set_seasons(Evaluator& e, std::size_t slots, double slot_seconds, double offset, std::int64_t phase,
                 const py::list& references) {
  std::vector<std::vector<ReferenceFeature>> refs;
  for (py::handle r : references) {
    refs.push_back(r.is_none() ? std::vector<ReferenceFeature>{} : references_from(r.cast<py::list>()));
  }
  e.set_seasons(slots, slot_seconds, offset, phase, std::move(refs));
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

// What the report objects are made of: the Python classes, each feature's
// template of constant fields, its cell labels and kind, and the Status
// members by level + 1. Building the objects here costs a fraction of doing
// it field by field in Python, and a scrape builds hundreds of them.
struct ReportTypes {
  py::object feature_report, contributor;
  std::vector<py::dict> templates;
  std::vector<std::vector<py::object>> labels;
  std::vector<bool> numeric;
  std::vector<py::object> statuses;  // insufficient data, ok, warn, alert
  std::vector<py::object> season_names;  // per season slot, for FeatureReport.reference
};

ReportTypes make_report_types(py::object feature_report, py::object contributor, const py::list& templates,
                              const py::list& labels, const std::vector<bool>& numeric, const py::tuple& statuses,
                              const py::list& season_names) {
  ReportTypes r{std::move(feature_report), std::move(contributor), {}, {}, numeric, {}, {}};
  for (py::handle n : season_names) r.season_names.push_back(py::reinterpret_borrow<py::object>(n));
  if (py::len(templates) != numeric.size() || py::len(labels) != numeric.size()) {
    throw py::value_error("templates, labels and kinds must have one entry per feature");
  }
  for (py::handle t : templates) r.templates.push_back(t.cast<py::dict>());
  for (py::handle l : labels) r.labels.push_back(l.cast<std::vector<py::object>>());
  if (statuses.size() != 4) throw py::value_error("statuses: insufficient data, ok, warn, alert");
  for (py::handle s : statuses) r.statuses.push_back(py::reinterpret_borrow<py::object>(s));
  return r;
}

// Field names as interned str objects, made once: PyDict_SetItemString
// would build and hash a new str for every field of every report.
PyObject* key_of(const char* name) {
  static std::vector<std::pair<const char*, PyObject*>> keys;  // names are string literals
  for (const auto& [literal, key] : keys) {
    if (literal == name) return key;
  }
  PyObject* key = PyUnicode_InternFromString(name);
  if (key == nullptr) throw py::error_already_set();
  keys.emplace_back(name, key);  // kept for the interpreter's life
  return key;
}

// A new instance of a (frozen) dataclass whose __dict__ is `fields`, as
// object.__new__ plus object.__setattr__(obj, "__dict__", fields).
py::object instance(const py::object& cls, const py::dict& fields) {
  py::object obj = py::reinterpret_steal<py::object>(
      PyBaseObject_Type.tp_new(reinterpret_cast<PyTypeObject*>(cls.ptr()), py::tuple().ptr(), nullptr));
  if (!obj) throw py::error_already_set();
  if (PyObject_GenericSetAttr(obj.ptr(), key_of("__dict__"), fields.ptr()) != 0) throw py::error_already_set();
  return obj;
}

void set(PyObject* d, const char* key, PyObject* value) {  // steals value
  if (value == nullptr || PyDict_SetItem(d, key_of(key), value) != 0) {
    Py_XDECREF(value);
    throw py::error_already_set();
  }
  Py_DECREF(value);
}
void set_float(PyObject* d, const char* key, double v) { set(d, key, PyFloat_FromDouble(v)); }
void set_count(PyObject* d, const char* key, std::uint64_t v) { set(d, key, PyLong_FromUnsignedLongLong(v)); }
void set_object(PyObject* d, const char* key, PyObject* v) {
  Py_INCREF(v);
  set(d, key, v);
}

py::list reports_of(const ReportTypes& types, const std::vector<FeatureVerdict>& verdicts) {
  if (verdicts.size() != types.templates.size()) throw py::value_error("the report types are for another profile");
  py::list out(verdicts.size());
  const py::str binned("binned");
  for (std::size_t i = 0; i < verdicts.size(); ++i) {
    const FeatureVerdict& v = verdicts[i];
    py::dict d = py::reinterpret_steal<py::dict>(PyDict_Copy(types.templates[i].ptr()));
    if (!d) throw py::error_already_set();
    PyObject* p = d.ptr();
    set_object(p, "status", types.statuses[std::size_t(v.level + 1)].ptr());
    set_count(p, "rows", v.rows);
    set_count(p, "count", v.count);
    set_float(p, "psi", v.psi);
    set_float(p, "psi_noise_floor", v.psi_floor);
    set_float(p, "js_distance", v.js);
    set_float(p, "missing_rate", v.missing_rate);
    set_count(p, "absent", v.absent);
    set_count(p, "invalid", v.invalid);
    if (std::isnan(v.seconds_since_value)) {
      set_object(p, "seconds_since_value", Py_None);
    } else {
      set_float(p, "seconds_since_value", v.seconds_since_value);
    }
    set_object(p, "stuck", v.stuck ? Py_True : Py_False);
    if (v.season >= 0 && std::size_t(v.season) < types.season_names.size()) {
      set_object(p, "reference", types.season_names[std::size_t(v.season)].ptr());
    }
    if (types.numeric[i]) {
      set_float(p, "out_of_range_rate", v.rate);
      if (!std::isnan(v.ks)) {
        set_float(p, "ks", v.ks);
        set_float(p, "ks_bound", v.ks_bound);
        set_float(p, "ks_pvalue", v.ks_pvalue);
        set_object(p, "ks_method", binned.ptr());
      }
      if (v.count > 0) {
        set_float(p, "minimum", v.minimum);
        set_float(p, "maximum", v.maximum);
      }
    } else {
      set_float(p, "unseen_rate", v.rate);
    }
    int contributors = 0;
    while (contributors < 3 && v.top[contributors] >= 0) ++contributors;
    py::tuple top(contributors);
    for (int s = 0; s < contributors; ++s) {
      py::dict c;
      set_object(c.ptr(), "cell", types.labels[i].at(std::size_t(v.top[s])).ptr());
      set_float(c.ptr(), "reference", v.top_reference[s]);
      set_float(c.ptr(), "current", v.top_current[s]);
      set_float(c.ptr(), "psi", v.top_term[s]);
      top[std::size_t(s)] = instance(types.contributor, c);
    }
    set_object(p, "top_contributors", top.ptr());
    out[i] = instance(types.feature_report, d);
  }
  return out;
}

py::dict evaluate(Evaluator& e, FeatureWindow& window, double span, double now, const ReportTypes* types) {
  Evaluation ev;
  {
    py::gil_scoped_release release;  // the caller keeps both objects alive
    ev = e.evaluate(window, span, now);
  }
  const auto& v = ev.features;
  py::dict out;
  if (types != nullptr) out["reports"] = reports_of(*types, v);
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
  out["season"] = column<std::int32_t>(v, [](const FeatureVerdict& f) { return f.season; });
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
  py::class_<ReportTypes>(m, "ReportTypes", "The classes and constant fields a report's objects are built from.")
      .def(py::init(&make_report_types), py::arg("feature_report"), py::arg("contributor"), py::arg("templates"),
           py::arg("labels"), py::arg("numeric"), py::arg("statuses"), py::arg("season_names") = py::list());
  py::class_<Evaluator>(m, "Evaluator", "A Monitor's judgement: reference tables built once, a report in one call.")
      .def(py::init(&make_evaluator), py::arg("features"), py::arg("policy"))
      .def("evaluate", &evaluate, py::arg("window"), py::arg("span"), py::arg("now"), py::arg("types") = nullptr,
           "The report's arrays (and, given types, its FeatureReport objects under \"reports\").")
      .def("set_seasons", &set_seasons, py::arg("slots"), py::arg("slot_seconds"), py::arg("offset"), py::arg("phase"),
           py::arg("references"))
      .def("season_of", &Evaluator::season_of, py::arg("t"))
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
