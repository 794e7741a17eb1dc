// Helpers for the plain CPython types of the per-request paths (LatencyTimer, RowObserver).
//
// Why plain types: a service calls these once or twice per request, and in a
// server each call runs with cold caches. pybind11's dispatcher (function
// record, argument casters, the registered-type maps, a heap-allocated call
// record) is a large footprint of code and data; cold, it costs several
// microseconds per call on the benchmark machine, many times the work itself.
// A CPython method (METH_NOARGS, METH_O, METH_FASTCALL) on pointers resolved
// once, when the object is made, does not.
#pragma once

#include <pybind11/pybind11.h>

#include <exception>
#include <new>
#include <stdexcept>

#include "driftline/hot.hpp"

namespace driftline::bindings {

// Sets the Python error for the C++ exception being handled, as pybind11's
// default translation would for the exceptions these paths can throw (cold:
// out of the paths' own code).
DRIFTLINE_COLD inline void set_error_from_current_exception() {
  try {
    throw;
  } catch (pybind11::error_already_set& e) {
    e.restore();
  } catch (const pybind11::builtin_exception& e) {
    e.set_error();
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
  } catch (const std::overflow_error& e) {
    PyErr_SetString(PyExc_OverflowError, e.what());
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  }
}

}  // namespace driftline::bindings
