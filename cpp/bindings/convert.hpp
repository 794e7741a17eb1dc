// Conversions from Python objects to the core's plain C++ inputs.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <cstring>
#include <string>

namespace driftline::bindings {

namespace py = pybind11;

using Float64Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

// Accepts any 1-D array-like of bool, integer or floating-point numbers and
// returns a C-contiguous native float64 view or copy (byte order, strides and
// dtype normalized). Raises TypeError for non-numeric dtypes (strings, objects,
// complex, datetimes) and ValueError for other than one dimension, both naming
// `what` and what was received.
// The array itself, or numpy.asarray(obj); raises TypeError naming `what` for
// dtypes other than bool, integer or floating point.
inline py::array as_numeric_array(py::handle obj, const char* what) {
  py::array arr = py::isinstance<py::array>(obj) ? py::reinterpret_borrow<py::array>(obj)
                                                  : py::array(py::module_::import("numpy").attr("asarray")(obj));
  const char kind = arr.dtype().kind();
  if (kind != 'b' && kind != 'i' && kind != 'u' && kind != 'f') {
    throw py::type_error(std::string(what) +
                         " must be numeric (bool, integer or floating point), got dtype " +
                         py::str(arr.dtype()).cast<std::string>());
  }
  return arr;
}

inline Float64Array as_float64_vector(py::handle obj, const char* what) {
  py::array arr = as_numeric_array(obj, what);
  if (arr.ndim() != 1) {
    std::string shape = "(";
    for (py::ssize_t i = 0; i < arr.ndim(); ++i) {
      if (i > 0) shape += ", ";
      shape += std::to_string(arr.shape(i));
    }
    shape += ")";
    throw py::value_error(std::string(what) + " must be 1-D, got " + std::to_string(arr.ndim()) +
                          "-D with shape " + shape);
  }
  Float64Array out = Float64Array::ensure(arr);
  // numpy may hand over a misaligned float64 buffer (e.g. from frombuffer with
  // an odd offset); reading it through double* is undefined behaviour, so copy.
  if (reinterpret_cast<std::uintptr_t>(out.data()) % alignof(double) != 0) {
    Float64Array aligned(out.size());
    std::memcpy(aligned.mutable_data(), out.data(), std::size_t(out.size()) * sizeof(double));
    return aligned;
  }
  return out;
}

}  // namespace driftline::bindings
