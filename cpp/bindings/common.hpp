// Bindings every mergeable core class shares: batch fill, merge, bytes, equality.
#pragma once

#include <pybind11/pybind11.h>

#include <string>
#include <string_view>
#include <vector>

#include "convert.hpp"
#include "initialized.hpp"

namespace driftline::bindings {

namespace py = pybind11;

template <typename T>
T decode_bytes(const py::bytes& data) {
  const std::string_view view = data;  // borrowed; the bytes object outlives the call
  return T::from_bytes(reinterpret_cast<const std::uint8_t*>(view.data()), view.size());
}

inline py::bytes to_py_bytes(const std::vector<std::uint8_t>& b) {
  return py::bytes(reinterpret_cast<const char*>(b.data()), b.size());
}

// obj.to_bytes() as Python bytes.
template <typename T>
py::bytes bytes_of(const T& obj) {
  return to_py_bytes(obj.to_bytes());
}

// self.merge(other) without the GIL: core-only work on objects the caller keeps alive.
template <typename T>
void merge_without_gil(T& self, const T& other) {
  py::gil_scoped_release release;
  self.merge(other);
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
      .def("merge", &merge_without_gil<T>, py::arg("other"))
      .def("reset", &T::reset)
      .def("to_bytes", &bytes_of<T>)
      .def("__eq__", [](const T& a, const T& b) { return a == b; }, py::is_operator())
      .def("__ne__", [](const T& a, const T& b) { return a != b; }, py::is_operator());
}

}  // namespace driftline::bindings
