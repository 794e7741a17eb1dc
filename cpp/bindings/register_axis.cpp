#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <vector>

#include "convert.hpp"
#include "driftline/axis.hpp"
#include "register.hpp"

namespace driftline::bindings {

namespace py = pybind11;

void register_axis(py::module_& m) {
  py::class_<Axis>(m, "Axis", "Immutable 1-D binning (see driftline.Uniform and driftline.Edges).")
      .def(py::init([](double lo, double hi, std::int64_t bins) { return Axis::uniform(lo, hi, bins); }),
           py::arg("lo"), py::arg("hi"), py::arg("bins"))
      // Before the array-like overload, which would otherwise try to read an Axis as edges.
      .def(py::init([](const Axis& other) { return Axis(other); }), py::arg("axis"))
      .def(py::init([](py::handle edges) {
             Float64Array a = as_float64_vector(edges, "edges");
             return Axis::variable(std::vector<double>(a.data(), a.data() + a.size()));
           }),
           py::arg("edges"))
      .def_property_readonly("kind",
                             [](const Axis& a) {
                               return a.kind() == AxisKind::uniform ? "uniform" : "variable";
                             })
      .def_property_readonly("bins", &Axis::bins)
      .def_property_readonly("edges",
                             [](const Axis& a) {
                               const auto& e = a.edges();
                               return py::array_t<double>(py::ssize_t(e.size()), e.data());
                             })
      .def_property_readonly("lo", &Axis::lo)
      .def_property_readonly("hi", &Axis::hi)
      .def("slot", &Axis::slot, py::arg("x"),
           "Slot of one value: 0 underflow, 1..bins the bins, bins+1 overflow, bins+2 NaN.")
      .def("describe", &Axis::describe)
      .def("__eq__", [](const Axis& a, const Axis& b) { return a == b; }, py::is_operator())
      .def("__ne__", [](const Axis& a, const Axis& b) { return a != b; }, py::is_operator());
}

}  // namespace driftline::bindings
