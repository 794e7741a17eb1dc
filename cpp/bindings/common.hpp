// Bindings every mergeable core class shares: batch fill, merge, bytes, equality.
#pragma once

#include <pybind11/pybind11.h>

#include <string>
#include <string_view>
#include <vector>

#include "convert.hpp"

namespace driftline::bindings {

namespace py = pybind11;

template <typename T>
T decode_bytes(const py::bytes& data) {
  const std::string_view view = data;  // borrowed; the bytes object outlives the call
  return T::from_bytes(reinterpret_cast<const std::uint8_t*>(view.data()), view.size());
}

template <typename T>
void def_mergeable(py::class_<T>& cls) {
  cls.def(py::init<const T&>(), py::arg("other"))
      .def(py::init(&decode_bytes<T>), py::arg("data"))
      .def(
          "fill",
          [](T& self, py::handle values) {
            Float64Array a = as_float64_vector(values, "values");
            const double* p = a.data();
            const auto n = std::size_t(a.size());
            // Safe without the GIL: `a` keeps the buffer alive and the core touches no Python object.
            py::gil_scoped_release release;
            self.fill(p, n);
          },
          py::arg("values"))
      .def(
          "merge",
          [](T& self, const T& other) {
            py::gil_scoped_release release;  // core-only work on objects kept alive by the caller
            self.merge(other);
          },
          py::arg("other"))
      .def("reset", &T::reset)
      .def("to_bytes",
           [](const T& self) {
             const std::vector<std::uint8_t> b = self.to_bytes();
             return py::bytes(reinterpret_cast<const char*>(b.data()), b.size());
           })
      .def("__eq__", [](const T& a, const T& b) { return a == b; }, py::is_operator())
      .def("__ne__", [](const T& a, const T& b) { return a != b; }, py::is_operator());
}

}  // namespace driftline::bindings
