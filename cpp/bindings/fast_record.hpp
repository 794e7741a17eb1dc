// A METH_O `record(x)` for classes whose per-event call is the hot path.
//
// pybind11's generic dispatcher (overload resolution, argument loaders) costs
// more than the work; this method does one float conversion and one C++ call.
// The method descriptor checks that `self` is an instance of the class.
#pragma once

#include <pybind11/pybind11.h>

#include <exception>
#include <new>
#include <stdexcept>

namespace driftline::bindings {

namespace py = pybind11;

template <typename T>
PyObject* record_one(PyObject* self, PyObject* arg) noexcept {
  const double value = PyFloat_AsDouble(arg);
  if (value == -1.0 && PyErr_Occurred()) return nullptr;
  // The descriptor guarantees `self` is an instance of the bound class (or a
  // Python subclass of it); driftline's classes have exactly one pybind11 base,
  // so the instance's first value slot is the T, once __init__ has built it.
  auto* instance = reinterpret_cast<py::detail::instance*>(self);
  const py::detail::value_and_holder slot = instance->get_value_and_holder();
  if (!slot.holder_constructed()) {
    PyErr_Format(PyExc_TypeError, "%s object is not initialized: its __init__ was not called or did not complete",
                 Py_TYPE(self)->tp_name);
    return nullptr;
  }
  try {
    static_cast<T*>(slot.value_ptr())->record(value);
  } catch (const std::bad_alloc&) {
    return PyErr_NoMemory();
  } catch (const std::overflow_error& e) {  // a count at 2^64 - 1: as pybind11 translates it elsewhere
    PyErr_SetString(PyExc_OverflowError, e.what());
    return nullptr;
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
    return nullptr;
  }
  Py_RETURN_NONE;
}

template <typename T>
void add_fast_record(py::class_<T>& cls) {
  static PyMethodDef method{"record", &record_one<T>, METH_O,
                            "record(x)\n\nCounts one number (anything float() accepts)."};
  PyObject* descriptor = PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(cls.ptr()), &method);
  if (descriptor == nullptr) throw py::error_already_set();
  cls.attr("record") = py::reinterpret_steal<py::object>(descriptor);
}

}  // namespace driftline::bindings
