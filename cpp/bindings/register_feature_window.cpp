// driftline._core.FeatureWindow: a Monitor's counts; numpy arrays in, snapshots out.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "batch_times.hpp"
#include "common.hpp"
#include "convert.hpp"
#include "driftline/feature_window.hpp"
#include "register.hpp"

namespace driftline::bindings {

namespace py = pybind11;

namespace {

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

void register_feature_window(py::module_& m) {
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
          "assign",
          [](FeatureWindow& w, const FeatureWindow& other) {
            py::gil_scoped_release release;  // core-only work
            w.assign(other);
          },
          py::arg("other"))
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
      .def_property_readonly("staged", &FeatureWindow::staged)
      .def_property_readonly("late", [](const FeatureWindow& w) { return w.ring().late(); })
      .def_property_readonly("future", [](const FeatureWindow& w) { return w.ring().future(); })
      .def_property_readonly("expired", [](const FeatureWindow& w) { return w.ring().expired(); })
      .def("to_bytes", &bytes_of<FeatureWindow>);
}

}  // namespace driftline::bindings
