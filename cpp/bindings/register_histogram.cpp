#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "convert.hpp"
#include "fast_record.hpp"
#include "driftline/histogram.hpp"
#include "register.hpp"

namespace driftline::bindings {

namespace py = pybind11;

namespace {

Histogram decode(const py::bytes& data) {
  const std::string_view view = data;  // borrowed; the bytes object outlives the call
  return Histogram::from_bytes(reinterpret_cast<const std::uint8_t*>(view.data()), view.size());
}

py::array_t<std::uint64_t> to_numpy(const std::vector<std::uint64_t>& v) {
  return py::array_t<std::uint64_t>(py::ssize_t(v.size()), v.data());
}

}  // namespace

void register_histogram(py::module_& m) {
  py::class_<Histogram> cls(m, "Histogram",
                            "Thread-safe mergeable 1-D histogram (see driftline.Histogram).");
  cls
      .def(py::init<Axis>(), py::arg("axis"))
      .def(py::init<const Histogram&>(), py::arg("other"))
      .def(py::init(&decode), py::arg("data"))
      .def(
          "fill",
          [](Histogram& h, py::handle values) {
            Float64Array a = as_float64_vector(values, "values");
            const double* p = a.data();
            const std::size_t n = std::size_t(a.size());
            // Safe without the GIL: `a` keeps the buffer alive and the core touches no Python object.
            py::gil_scoped_release release;
            h.fill(p, n);
          },
          py::arg("values"))
      .def(
          "merge",
          [](Histogram& h, const Histogram& other) {
            py::gil_scoped_release release;  // core-only work on objects kept alive by the caller
            h.merge(other);
          },
          py::arg("other"))
      .def("reset", &Histogram::reset)
      .def("slot_counts", [](const Histogram& h) { return to_numpy(h.slot_counts()); },
           "All slots: underflow, bins..., overflow, NaN (a consistent snapshot).")
      .def_property_readonly("total", &Histogram::total)
      .def_property_readonly("_axis", [](const Histogram& h) { return h.axis(); })
      .def("to_bytes",
           [](const Histogram& h) {
             const std::vector<std::uint8_t> b = h.to_bytes();
             return py::bytes(reinterpret_cast<const char*>(b.data()), b.size());
           })
      .def("__eq__", [](const Histogram& a, const Histogram& b) { return a == b; }, py::is_operator())
      .def("__ne__", [](const Histogram& a, const Histogram& b) { return a != b; }, py::is_operator());
  add_fast_record(cls);
}

}  // namespace driftline::bindings
