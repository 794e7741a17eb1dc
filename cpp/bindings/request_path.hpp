// The per-request entry points of the plain types (RowObserver, LatencyTimer),
// for the Monitor's C base (register_request_paths.cpp), which calls them
// without a Python method lookup.
#pragma once

#include <Python.h>

namespace driftline::bindings {

// Whether `object` is exactly a driftline._core.RowObserver.
bool is_row_observer(PyObject* object);

// RowObserver.observe(row) on a RowObserver: None, NotImplemented or the
// leftovers tuple (new reference), or nullptr with the Python error set.
PyObject* observe_row_now(PyObject* observer, PyObject* row);

// Brings what observe_row_now will touch on `observer` into the caches (a
// hint: driftline/prefetch.hpp).
void prefetch_row_observe(PyObject* observer) noexcept;

// Whether `object` is exactly a driftline._core.LatencyTimer.
bool is_latency_timer(PyObject* object);

// LatencyTimer.fresh() on a LatencyTimer (new reference), or nullptr with the Python error set.
PyObject* fresh_latency_timer(PyObject* timer);

// Brings what exiting a timer made by fresh_latency_timer(timer) will touch into the caches (a hint).
void prefetch_timer_exit(PyObject* timer) noexcept;

}  // namespace driftline::bindings
