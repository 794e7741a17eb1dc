// The one rule for "which category is this value, or is it missing", shared by
// profiling (counting a column), coding a column, and the row encoder, so a
// Monitor and its Profile always agree on what a value is.
//
//   missing:  None; float NaN (float subclasses such as numpy.float64 too);
//             pandas.NA and pandas.NaT; numpy datetime64/timedelta64 NaT (their
//             item() is None);
//   str, bool, int in [-2^63, 2^63), finite float: the value itself (as the
//             exact builtin type: numpy.float64(1.5) is the category 1.5, an
//             IntEnum member its int);
//   bytes:    decoded as UTF-8 with replacement;
//   numpy scalars: their item(), by the rules above;
//   anything else (other ints, infinities, objects): str(value).
// Values the fast paths do not cover call back into Python for str() or item();
// an exception from those (a __str__ that raises) propagates as
// py::error_already_set.
#pragma once

#include <pybind11/pybind11.h>

#include <cmath>

namespace driftline::bindings {

// Whether v is pandas.NA or pandas.NaT. pandas is never imported for this: if
// no module has imported it, no value can be one of its singletons.
inline bool is_pandas_missing(PyObject* v) {
  static PyObject* na = nullptr;   // strong references, kept for the process's life
  static PyObject* nat = nullptr;
  if (na == nullptr) {
    PyObject* modules = PyImport_GetModuleDict();  // borrowed
    PyObject* pandas = PyDict_GetItemString(modules, "pandas");  // borrowed
    if (pandas == nullptr) return false;
    PyObject* found_na = PyObject_GetAttrString(pandas, "NA");
    PyObject* found_nat = PyObject_GetAttrString(pandas, "NaT");
    if (found_na == nullptr || found_nat == nullptr) {  // a partly imported pandas: try again later
      PyErr_Clear();
      Py_XDECREF(found_na);
      Py_XDECREF(found_nat);
      return false;
    }
    na = found_na;
    nat = found_nat;
  }
  return v == na || v == nat;
}

// Whether v is a numpy datetime64 or timedelta64 scalar: times, never numbers.
inline bool is_numpy_time(PyObject* v) {
  static PyObject* datetime64 = pybind11::object(pybind11::module_::import("numpy").attr("datetime64")).release().ptr();
  static PyObject* timedelta64 = pybind11::object(pybind11::module_::import("numpy").attr("timedelta64")).release().ptr();
  return PyObject_TypeCheck(v, reinterpret_cast<PyTypeObject*>(datetime64)) ||
         PyObject_TypeCheck(v, reinterpret_cast<PyTypeObject*>(timedelta64));
}

// The missing rule for values that are not plain str/int/float (those have
// their own fast checks): pandas NA and NaT, numpy's NaT. Numeric features
// use it too, so "missing" means the same for every feature kind and input shape.
inline bool is_missing_object(PyObject* v) {
  if (is_pandas_missing(v)) return true;
  if (!is_numpy_time(v)) return false;
  // NaT != NaT (PyObject_RichCompareBool would shortcut on identity)
  PyObject* differs = PyObject_RichCompare(v, v, Py_NE);
  if (differs == nullptr) {
    PyErr_Clear();
    return false;
  }
  const int truth = PyObject_IsTrue(differs);
  Py_DECREF(differs);
  if (truth < 0) PyErr_Clear();
  return truth == 1;
}

// The canonical category of v (a new reference), or an empty object for a missing value.
inline pybind11::object canonical_category(PyObject* v) {
  namespace py = pybind11;
  if (v == Py_None) return py::object();
  if (PyUnicode_CheckExact(v) || PyBool_Check(v)) return py::reinterpret_borrow<py::object>(v);
  if (PyFloat_Check(v)) {
    const double x = PyFloat_AS_DOUBLE(v);
    if (std::isnan(x)) return py::object();
    if (std::isfinite(x)) return PyFloat_CheckExact(v) ? py::reinterpret_borrow<py::object>(v) : py::float_(x);
    return py::str(py::float_(x));
  }
  if (PyLong_Check(v)) {  // bool was handled above
    int overflow = 0;
    const long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow != 0) return py::str(py::handle(v));
    return PyLong_CheckExact(v) ? py::reinterpret_borrow<py::object>(v) : py::int_(x);
  }
  if (PyUnicode_Check(v)) return py::str(py::handle(v));  // a str subclass: its plain text
  if (PyBytes_Check(v)) {
    PyObject* text = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v), "replace");
    if (text == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(text);
  }
  static PyObject* generic = py::module_::import("numpy").attr("generic").ptr();
  if (PyObject_IsInstance(v, generic) == 1) {
    py::object item = py::handle(v).attr("item")();
    if (item.ptr() == v) return py::str(py::handle(v));  // an item() that returns itself
    return canonical_category(item.ptr());
  }
  if (is_pandas_missing(v)) return py::object();
  return py::str(py::handle(v));
}

}  // namespace driftline::bindings
