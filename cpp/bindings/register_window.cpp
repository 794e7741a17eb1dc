#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <limits>
#include <string>
#include <vector>

#include "common.hpp"
#include "convert.hpp"
#include "driftline/window.hpp"
#include "register.hpp"

namespace driftline::bindings {

namespace py = pybind11;

namespace {

template <typename T>
void register_one(py::module_& m, const char* name) {
  using W = Window<T>;
  py::class_<W>(m, name, "Event-time ring of slots (see driftline.Window).")
      .def(py::init([](const T& prototype, double width, std::int64_t length, bool keep_expired) {
             return W(prototype, width, length, keep_expired);
           }),
           py::arg("prototype"), py::arg("width"), py::arg("length"), py::arg("keep_expired") = false)
      .def(py::init<const W&>(), py::arg("other"))
      .def(py::init([](const py::bytes& data) {
             const std::string_view view = data;  // borrowed for the call
             return W::from_bytes(reinterpret_cast<const std::uint8_t*>(view.data()), view.size());
           }),
           py::arg("data"))
      .def(
          "fill_at",
          [](W& w, py::handle values, double t, double now) {
            Float64Array a = as_float64_vector(values, "values");
            const double* p = a.data();
            const auto n = std::size_t(a.size());
            py::gil_scoped_release release;  // `a` keeps the buffer alive; the core sees no Python object
            w.fill(p, n, t, now);
          },
          py::arg("values"), py::arg("t"), py::arg("now"))
      .def(
          "fill_times",
          [](W& w, py::handle values, py::handle times, double now) {
            Float64Array a = as_float64_vector(values, "values");
            Float64Array t = as_float64_vector(times, "t");
            if (t.size() != a.size()) {
              throw py::value_error("t must give one timestamp per value: " + std::to_string(a.size()) +
                                    " values, " + std::to_string(t.size()) + " timestamps");
            }
            const double* pv = a.data();
            const double* pt = t.data();
            const auto n = std::size_t(a.size());
            py::gil_scoped_release release;  // as above
            w.fill(pv, pt, n, now);
          },
          py::arg("values"), py::arg("t"), py::arg("now"))
      .def("record", &W::record, py::arg("x"), py::arg("t"), py::arg("now"))
      .def("advance_to", &W::advance_to, py::arg("now"))
      .def(
          "merged",
          [](W& w, double last, double now) {
            py::gil_scoped_release release;  // core-only work
            return w.merged(last, now);
          },
          py::arg("last"), py::arg("now"))
      .def("series", &W::series, py::arg("now"))
      .def(
          "lifetime",
          [](W& w, double now) {
            py::gil_scoped_release release;  // core-only work
            return w.lifetime(now);
          },
          py::arg("now"))
      .def("keep_expired", &W::keep_expired)
      .def_property_readonly("keeps_expired", &W::keeps_expired)
      .def_property_readonly("expired_values", &W::expired_values)
      .def("merge", &merge_without_gil<W>, py::arg("other"))
      .def_property_readonly("width", &W::width)
      .def_property_readonly("length", &W::length)
      .def_property_readonly("total", &W::total)
      .def_property_readonly("late", &W::late)
      .def_property_readonly("future", &W::future)
      .def_property_readonly("expired", &W::expired)
      .def_property_readonly("head", &W::head)
      .def_property_readonly("prototype", [](const W& w) { return w.prototype(); })
      .def("to_bytes", &bytes_of<W>);
}

}  // namespace

void register_window(py::module_& m) {
  register_one<Histogram>(m, "HistogramWindow");
  register_one<QuantileSketch>(m, "SketchWindow");
}

}  // namespace driftline::bindings
