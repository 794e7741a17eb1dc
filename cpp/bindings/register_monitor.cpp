// Bindings of the Monitor's core state (FeatureWindow) and of the row encoder
// that turns a Python mapping into one row of doubles for it.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common.hpp"
#include "convert.hpp"
#include "driftline/feature_window.hpp"
#include "register.hpp"

namespace driftline::bindings {

namespace py = pybind11;

namespace {

const double kAbsent = from_bits(kAbsentBits);
const double kInvalid = from_bits(kInvalidBits);
const double kMissing = std::numeric_limits<double>::quiet_NaN();

// Unseen categorical values reported back per call, as (feature, value) pairs
// (the Python layer keeps a bounded set of examples; the counts themselves are
// in the "other" bin).
constexpr std::size_t kMaxUnseenPerCall = 8;

// A batch's event times: a float for every row, or a 1-D numeric array of one per row.
class BatchTimes {
 public:
  BatchTimes(py::handle t, std::size_t rows) {
    if (PyFloat_Check(t.ptr())) {
      single_ = PyFloat_AS_DOUBLE(t.ptr());
      return;
    }
    per_row_ = as_float64_vector(t, "t");
    has_per_row_ = true;
    if (std::size_t(per_row_.size()) != rows) {
      throw py::value_error("t holds " + std::to_string(per_row_.size()) + " timestamps for " + std::to_string(rows) +
                            " rows");
    }
  }
  // Runs without the GIL: `per_row_` keeps the buffer alive.
  void observe(FeatureWindow& window, const FeatureRows& rows, std::size_t n, double now) const {
    if (has_per_row_) {
      window.observe(rows, n, per_row_.data(), now);
    } else {
      window.observe(rows, n, single_, now);
    }
  }

 private:
  double single_ = 0.0;
  bool has_per_row_ = false;
  Float64Array per_row_;
};

// Converts one field of a row. Numbers (anything float() accepts without
// parsing text) for numeric features; hashable values looked up in `codes`
// for categorical ones. None and NaN are missing; what cannot be read is
// invalid. Never raises.
double encode_value(std::size_t f, PyObject* value, PyObject* codes, double other, std::vector<py::object>* unseen,
                    Py_ssize_t row) {
  if (value == Py_None) return kMissing;
  if (PyFloat_CheckExact(value)) {
    const double x = PyFloat_AS_DOUBLE(value);
    if (std::isnan(x) || codes == Py_None) return x;
  }
  if (codes == Py_None) {
    if (PyUnicode_Check(value) || PyBytes_Check(value)) return kInvalid;  // no text parsing
    const double x = PyFloat_AsDouble(value);
    if (x == -1.0 && PyErr_Occurred()) {
      PyErr_Clear();
      return kInvalid;
    }
    return x;
  }
  PyObject* code = PyDict_GetItemWithError(codes, value);  // borrowed
  if (code == nullptr) {
    if (PyErr_Occurred()) {  // unhashable
      PyErr_Clear();
      return kInvalid;
    }
    if (unseen != nullptr && unseen->size() < kMaxUnseenPerCall) {
      unseen->push_back(py::make_tuple(f, py::reinterpret_borrow<py::object>(value), row));
    }
    return other;
  }
  return PyFloat_AsDouble(code);  // codes are Python ints written by the encoder's owner
}

// Maps fields of Python rows to the FeatureWindow's features, by name.
class RowEncoder {
 public:
  // names: one str per feature; codes: per feature None (numeric) or a dict
  // mapping each known category to its code 0 .. K-1 (K = len(dict), unseen
  // values get code K).
  RowEncoder(const std::vector<py::str>& names, const std::vector<py::object>& codes) {
    if (names.size() != codes.size()) throw py::value_error("names and codes differ in length");
    for (std::size_t f = 0; f < names.size(); ++f) {
      names_.push_back(names[f]);
      const py::object& c = codes[f];
      if (!c.is_none() && !py::isinstance<py::dict>(c)) throw py::type_error("codes must be dicts or None");
      codes_.push_back(c);
      other_.push_back(c.is_none() ? 0.0 : double(py::len(c)));
      for (auto item : (c.is_none() ? py::dict() : py::reinterpret_borrow<py::dict>(c))) {
        if (!py::isinstance<py::int_>(item.second)) throw py::type_error("category codes must be ints");
      }
    }
    row_.assign(names_.size(), 0.0);
    columns_.resize(names_.size());
    for (std::size_t f = 0; f < names_.size(); ++f) columns_[f] = &row_[f];
    strides_.assign(names_.size(), 0);
  }

  std::size_t features() const noexcept { return names_.size(); }

  // Observes one mapping row; returns (fields matched, unseen (feature, value, row) triples or None).
  py::tuple observe(FeatureWindow& window, const py::dict& row, double t, double now) {
    check(window);
    std::vector<py::object> unseen;
    std::size_t matched = 0;
    for (std::size_t f = 0; f < names_.size(); ++f) {
      PyObject* value = PyDict_GetItemWithError(row.ptr(), names_[f].ptr());
      if (value == nullptr) {
        if (PyErr_Occurred()) throw py::error_already_set();
        row_[f] = kAbsent;
        continue;
      }
      ++matched;
      row_[f] = encode_value(f, value, codes_[f].ptr(), other_[f], &unseen, 0);
    }
    window.observe(FeatureRows{columns_.data(), strides_.data()}, 1, t, now);
    return py::make_tuple(matched, unseen_pairs(unseen));
  }

  // Observes a batch given as a dict of name -> column (n values each): numeric
  // arrays are taken as float64 without a per-value step, anything else is
  // read value by value as in a row; features the dict lacks are absent. All
  // columns are converted and checked before anything is counted. Returns
  // (fields matched, unseen (feature, value, row) triples or None).
  py::tuple observe_columns(FeatureWindow& window, const py::dict& columns, std::size_t n, py::handle t, double now) {
    check(window);
    const BatchTimes times(t, n);
    const std::size_t nf = names_.size();
    std::vector<Float64Array> keep(nf);
    std::vector<const double*> pointers(nf, &kAbsent);
    std::vector<std::ptrdiff_t> strides(nf, 0);
    std::vector<py::object> unseen;
    std::size_t matched = 0;
    for (std::size_t f = 0; f < nf; ++f) {
      PyObject* column = PyDict_GetItemWithError(columns.ptr(), names_[f].ptr());
      if (column == nullptr) {
        if (PyErr_Occurred()) throw py::error_already_set();
        continue;
      }
      ++matched;
      keep[f] = numeric_array(f, column) ? as_float64_vector(column, "column") : encode_sequence(f, column, &unseen);
      if (std::size_t(keep[f].size()) != n) {
        throw py::value_error("column " + py::repr(names_[f]).cast<std::string>() + " holds " +
                              std::to_string(keep[f].size()) + " values, expected " + std::to_string(n));
      }
      pointers[f] = keep[f].data();
      strides[f] = 1;
    }
    {
      py::gil_scoped_release release;  // `keep` holds the buffers; the core sees no Python object
      times.observe(window, FeatureRows{pointers.data(), strides.data()}, n, now);
    }
    return py::make_tuple(matched, unseen_pairs(unseen));
  }

 private:
  // A numeric feature's column that numpy can convert without reading values one by one.
  bool numeric_array(std::size_t f, PyObject* column) const {
    if (!codes_[f].is_none() || !py::array::check_(column)) return false;
    const char kind = py::reinterpret_borrow<py::array>(column).dtype().kind();
    return kind == 'b' || kind == 'i' || kind == 'u' || kind == 'f';
  }

  // Reads a column value by value (see encode_value); text and scalars are not columns.
  Float64Array encode_sequence(std::size_t f, py::handle values, std::vector<py::object>* unseen) const {
    if (PyUnicode_Check(values.ptr()) || PyBytes_Check(values.ptr()) || !PySequence_Check(values.ptr())) {
      throw py::type_error("column " + py::repr(names_[f]).cast<std::string>() + " must be a sequence of values, got " +
                           std::string(Py_TYPE(values.ptr())->tp_name));
    }
    // numpy's tolist() makes plain Python scalars in one call, much faster than
    // iterating the array (which boxes every element as a numpy scalar).
    py::object seq = py::array::check_(values.ptr())
                         ? values.attr("tolist")()
                         : py::reinterpret_steal<py::object>(PySequence_Fast(values.ptr(), "a column must be a sequence"));
    if (!seq) throw py::error_already_set();
    if (!PyList_Check(seq.ptr()) && !PyTuple_Check(seq.ptr())) {  // a 0-d array's tolist() is a scalar
      throw py::type_error("column " + py::repr(names_[f]).cast<std::string>() + " must be 1-D");
    }
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq.ptr());
    PyObject** items = PySequence_Fast_ITEMS(seq.ptr());
    Float64Array out(n);
    double* p = out.mutable_data();
    for (Py_ssize_t i = 0; i < n; ++i) p[i] = encode_value(f, items[i], codes_[f].ptr(), other_[f], unseen, i);
    return out;
  }

  void check(const FeatureWindow& window) const {
    if (window.features() != names_.size()) throw py::value_error("the encoder and the window have different features");
  }
  static py::object unseen_pairs(const std::vector<py::object>& unseen) {
    if (unseen.empty()) return py::none();
    py::list out;
    for (const auto& v : unseen) out.append(v);
    return std::move(out);
  }

  std::vector<py::str> names_;
  std::vector<py::object> codes_;
  std::vector<double> other_;
  std::vector<double> row_;
  std::vector<const double*> columns_;
  std::vector<std::ptrdiff_t> strides_;
};

std::vector<Axis> axes_from(const std::vector<std::vector<double>>& edges) {
  std::vector<Axis> axes;
  axes.reserve(edges.size());
  for (const auto& e : edges) axes.push_back(Axis::variable(e));
  return axes;
}

// Whether numpy can hand this array to the core as is: float64 in native byte
// order, aligned, with strides of whole elements (the common case, checked
// without creating any Python object beyond the dtype).
bool native_float64(const py::array& a) {
  const py::dtype dt = a.dtype();
  if (dt.num() != py::detail::npy_api::NPY_DOUBLE_ || dt.byteorder() != '=') return false;
  if ((a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_) == 0) return false;
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    if (a.strides(d) % py::ssize_t(sizeof(double)) != 0) return false;
  }
  return true;
}

// Observes a 1-D row (F values) or a 2-D batch (rows x F) of any strides.
void observe_array(FeatureWindow& w, py::handle data, py::handle t, double now) {
  py::array a = as_numeric_array(data, "data");
  const int ndim = int(a.ndim());
  if (ndim != 1 && ndim != 2) {
    throw py::value_error("data must be one row (1-D) or rows x features (2-D), got " + std::to_string(ndim) + "-D");
  }
  if (!native_float64(a)) {
    // Other dtypes, byte orders or odd strides: a float64 copy in C order.
    a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a);
  }
  const auto f = std::size_t(w.features());
  const std::size_t width = std::size_t(a.shape(ndim - 1));
  if (width != f) {
    throw py::value_error("data has " + std::to_string(width) + " columns, the monitor has " + std::to_string(f) +
                          " features");
  }
  const std::size_t n = ndim == 1 ? 1 : std::size_t(a.shape(0));
  const std::ptrdiff_t row_stride = ndim == 1 ? 0 : a.strides(0) / py::ssize_t(sizeof(double));
  const std::ptrdiff_t column_stride = a.strides(ndim - 1) / py::ssize_t(sizeof(double));
  const auto* base = static_cast<const double*>(a.data());
  // Per-thread scratch: a single row must not pay for two allocations.
  thread_local std::vector<const double*> columns;
  thread_local std::vector<std::ptrdiff_t> strides;
  columns.resize(f);
  strides.assign(f, row_stride);
  for (std::size_t j = 0; j < f; ++j) columns[j] = base + std::ptrdiff_t(j) * column_stride;
  const FeatureRows rows{columns.data(), strides.data()};
  if (PyFloat_Check(t.ptr())) {  // the hot path: one time for the row or batch
    const double at = PyFloat_AS_DOUBLE(t.ptr());
    if (n >= 64) {
      py::gil_scoped_release release;  // `a` keeps the buffer alive; the core sees no Python object
      w.observe(rows, n, at, now);
    } else {
      w.observe(rows, n, at, now);
    }
    return;
  }
  const BatchTimes times(t, n);
  py::gil_scoped_release release;  // `a` and `times` keep the buffers alive
  times.observe(w, rows, n, now);
}

template <typename V>
py::array_t<V> matrix(std::size_t rows, std::size_t cols) {
  return py::array_t<V>({py::ssize_t(rows), py::ssize_t(cols)});
}

// The ring's slots as arrays, oldest first: start times, rows, counts
// (slots x cells), absent, invalid, minimum, maximum (slots x features).
py::dict snapshot(FeatureWindow& w, double now) {
  const auto series = w.ring().series(now);
  const FeatureBlock& proto = w.ring().prototype();
  const std::size_t s = series.size(), f = proto.features(), cells = proto.counts().size();
  py::array_t<double> starts{py::ssize_t(s)};
  py::array_t<std::uint64_t> rows{py::ssize_t(s)};
  auto counts = matrix<std::uint64_t>(s, cells);
  auto absent = matrix<std::uint64_t>(s, f), invalid = matrix<std::uint64_t>(s, f);
  auto minimum = matrix<double>(s, f), maximum = matrix<double>(s, f);
  for (std::size_t i = 0; i < s; ++i) {
    const FeatureBlock& b = series[i].second;
    starts.mutable_at(py::ssize_t(i)) = series[i].first;
    rows.mutable_at(py::ssize_t(i)) = b.rows();
    std::copy(b.counts().begin(), b.counts().end(), counts.mutable_data(py::ssize_t(i), 0));
    std::copy(b.absent().begin(), b.absent().end(), absent.mutable_data(py::ssize_t(i), 0));
    std::copy(b.invalid().begin(), b.invalid().end(), invalid.mutable_data(py::ssize_t(i), 0));
    std::copy(b.minimum().begin(), b.minimum().end(), minimum.mutable_data(py::ssize_t(i), 0));
    std::copy(b.maximum().begin(), b.maximum().end(), maximum.mutable_data(py::ssize_t(i), 0));
  }
  py::dict out;
  out["starts"] = starts;
  out["rows"] = rows;
  out["counts"] = counts;
  out["absent"] = absent;
  out["invalid"] = invalid;
  out["minimum"] = minimum;
  out["maximum"] = maximum;
  return out;
}

}  // namespace

void register_monitor(py::module_& m) {
  py::class_<FeatureWindow>(m, "FeatureWindow", "A Monitor's per-feature counts in event-time slots.")
      .def(py::init([](const std::vector<std::vector<double>>& edges, double width, std::int64_t length) {
             return FeatureWindow(axes_from(edges), width, length);
           }),
           py::arg("edges"), py::arg("width"), py::arg("length"))
      .def(py::init<const FeatureWindow&>(), py::arg("other"))
      .def(py::init(&decode_bytes<FeatureWindow>), py::arg("data"))
      .def("observe_array", &observe_array, py::arg("data"), py::arg("t"), py::arg("now"))
      .def("advance_to", [](FeatureWindow& w, double now) { w.ring().advance_to(now); }, py::arg("now"))
      .def("snapshot", &snapshot, py::arg("now"))
      .def("merge", &merge_without_gil<FeatureWindow>, py::arg("other"))
      .def(
          "same_layout",
          [](const FeatureWindow& a, const FeatureWindow& b) {
            return a.ring().width() == b.ring().width() && a.ring().length() == b.ring().length() &&
                   a.ring().prototype().same_axes(b.ring().prototype());
          },
          py::arg("other"), "Whether other has the same width, length, features and bins (so merge() accepts it).")
      .def_property_readonly("features", &FeatureWindow::features)
      .def_property_readonly(
          "edges",
          [](const FeatureWindow& w) {
            const FeatureBlock& proto = w.ring().prototype();
            py::list out;
            for (std::size_t f = 0; f < proto.features(); ++f) out.append(py::array(py::cast(proto.axis(f).edges())));
            return out;
          },
          "Each feature's bin edges.")
      .def_property_readonly("offsets",
                             [](const FeatureWindow& w) {
                               std::vector<std::size_t> out;
                               for (std::size_t f = 0; f < w.features(); ++f) out.push_back(w.ring().prototype().offset(f));
                               return out;
                             })
      .def_property_readonly("last_seen", [](const FeatureWindow& w) { return py::array(py::cast(w.last_seen())); })
      .def_property_readonly("width", [](const FeatureWindow& w) { return w.ring().width(); })
      .def_property_readonly("length", [](const FeatureWindow& w) { return w.ring().length(); })
      .def_property_readonly("total", [](const FeatureWindow& w) { return w.ring().total(); })
      .def_property_readonly("late", [](const FeatureWindow& w) { return w.ring().late(); })
      .def_property_readonly("future", [](const FeatureWindow& w) { return w.ring().future(); })
      .def_property_readonly("expired", [](const FeatureWindow& w) { return w.ring().expired(); })
      .def("to_bytes", &bytes_of<FeatureWindow>);

  py::class_<RowEncoder>(m, "RowEncoder", "Maps the fields of Python rows to a FeatureWindow's features.")
      .def(py::init<const std::vector<py::str>&, const std::vector<py::object>&>(), py::arg("names"), py::arg("codes"))
      .def("observe", &RowEncoder::observe, py::arg("window"), py::arg("row"), py::arg("t"), py::arg("now"))
      .def("observe_columns", &RowEncoder::observe_columns, py::arg("window"), py::arg("columns"), py::arg("n"),
           py::arg("t"), py::arg("now"))
      .def_property_readonly("features", &RowEncoder::features);

  m.def(
      "seal",
      [](int type, const py::bytes& payload, std::uint16_t version) {
        const std::string_view view = payload;
        const std::vector<std::uint8_t> body(view.begin(), view.end());
        return to_py_bytes(driftline::seal(ObjectType(type), body, version));
      },
      py::arg("type"), py::arg("payload"), py::arg("version") = 0,
      "Wraps a payload in the driftline envelope (magic, version, type, CRC-32C); version 0: the type's current one.");
  m.def(
      "unseal",
      [](int type, const py::bytes& data) {
        const std::string_view view = data;
        std::uint16_t version = 0;
        ByteReader r =
            driftline::open(ObjectType(type), reinterpret_cast<const std::uint8_t*>(view.data()), view.size(), &version);
        return py::make_tuple(version, py::bytes(reinterpret_cast<const char*>(r.cursor()), r.remaining()));
      },
      py::arg("type"), py::arg("data"),
      "Checks the envelope and returns (version, payload); raises DecodeError.");
}

}  // namespace driftline::bindings
