// driftline._core.RequestPaths: the C base of driftline.Monitor that owns its two per-request methods.
//
// Why a C base: `monitor.observe(row)` and `monitor.time()` run once per
// request, and a Python method in between (its frame, its bytecode, the
// instance dict lookups) is most of their cost once a server's other work has
// evicted it from the caches. As methods of a C base class they are found by
// the type's method cache and called directly; anything but the per-request
// cases (batches, explicit times, rows the core leaves to Python, leftovers to
// track, an uninitialized Monitor) goes to the Python layer's methods.
//
// The type keeps the generic attribute lookup (no tp_getattro, and the
// Monitor no __getattr__): CPython's specializing interpreter only
// specializes `monitor.observe(row)` into a direct call of the method on a
// type whose lookup is the generic one; otherwise each call looks the method
// up and builds a bound method object. An uninitialized Monitor is reported
// by the Python layer's guards on its state (driftline._initialized.guard_state),
// which the fallbacks below read.
//
// Thread safety: the fields are read and replaced only with the GIL held.
#include <pybind11/pybind11.h>

#include "driftline/hot.hpp"
#include "register.hpp"
#include "request_path.hpp"

namespace driftline::bindings {

namespace {

struct RequestPathsObject {
  PyObject_HEAD
  PyObject* observer;  // a RowObserver, or nullptr until _set_request_paths (strong reference)
  PyObject* timer;     // a LatencyTimer whose fresh() copies time() returns, or nullptr (strong reference)
};

RequestPathsObject* paths_of(PyObject* self) { return reinterpret_cast<RequestPathsObject*>(self); }

int paths_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(paths_of(self)->observer);
  Py_VISIT(paths_of(self)->timer);
  Py_VISIT(Py_TYPE(self));  // instances of a heap type hold a reference to it
  return 0;
}

int paths_clear(PyObject* self) {
  Py_CLEAR(paths_of(self)->observer);
  Py_CLEAR(paths_of(self)->timer);
  return 0;
}

void paths_dealloc(PyObject* self) {
  // Also reached from a Python subclass's dealloc, which leaves the reference
  // to a heap type's base-allocated type to this function.
  PyTypeObject* type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  paths_clear(self);
  type->tp_free(self);
  Py_DECREF(type);
}

PyObject* set_request_paths(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 2) {
    PyErr_Format(PyExc_TypeError, "_set_request_paths() takes 2 arguments (%zd given)", nargs);
    return nullptr;
  }
  if (!is_row_observer(args[0])) {
    PyErr_SetString(PyExc_TypeError, "the observer must be a driftline._core.RowObserver");
    return nullptr;
  }
  if (!is_latency_timer(args[1])) {
    PyErr_SetString(PyExc_TypeError, "the timer must be a driftline._core.LatencyTimer");
    return nullptr;
  }
  Py_INCREF(args[0]);
  Py_INCREF(args[1]);
  Py_XSETREF(paths_of(self)->observer, args[0]);
  Py_XSETREF(paths_of(self)->timer, args[1]);
  Py_RETURN_NONE;
}

// observe(data, t=None), parsed as a Python def would: one or two positional
// arguments, or data/t by keyword, not both ways.
bool parse_observe_arguments(PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames, PyObject** data,
                             PyObject** t) {
  *data = nargs > 0 ? args[0] : nullptr;
  *t = nargs > 1 ? args[1] : nullptr;
  if (nargs > 2) {
    PyErr_Format(PyExc_TypeError, "observe() takes from 2 to 3 positional arguments but %zd were given", nargs + 1);
    return false;
  }
  const Py_ssize_t keywords = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
  for (Py_ssize_t k = 0; k < keywords; ++k) {
    PyObject* name = PyTuple_GET_ITEM(kwnames, k);
    PyObject** slot = nullptr;
    if (PyUnicode_CompareWithASCIIString(name, "data") == 0) slot = data;
    if (PyUnicode_CompareWithASCIIString(name, "t") == 0) slot = t;
    if (slot == nullptr) {
      PyErr_Format(PyExc_TypeError, "observe() got an unexpected keyword argument '%U'", name);
      return false;
    }
    if (*slot != nullptr) {
      PyErr_Format(PyExc_TypeError, "observe() got multiple values for argument '%U'", name);
      return false;
    }
    *slot = args[nargs + k];
  }
  if (*data == nullptr) {
    PyErr_SetString(PyExc_TypeError, "observe() missing 1 required positional argument: 'data'");
    return false;
  }
  return true;
}

// A counted row's leftovers (unseen categories, unexpected fields) for the
// Python trackers; consumes `left`.
DRIFTLINE_COLD PyObject* track_leftovers(PyObject* self, PyObject* left) {
  static PyObject* const track = PyUnicode_InternFromString("_track_leftovers");  // immortal for the process
  PyObject* result = track == nullptr ? nullptr : PyObject_CallMethodOneArg(self, track, left);
  Py_DECREF(left);
  return result;
}

// observe() of anything but `monitor.observe(row)` with a dict row the core
// counts itself: a dict row given by keyword or with t=None is still the
// core's (unless `not_a_row`: the core has just refused it), the rest the
// Python layer's general path.
DRIFTLINE_COLD PyObject* observe_general(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames,
                                         bool not_a_row) {
  PyObject *data, *t;
  if (!parse_observe_arguments(args, nargs, kwnames, &data, &t)) return nullptr;
  PyObject* observer = paths_of(self)->observer;
  if (!not_a_row && observer != nullptr && (t == nullptr || t == Py_None) && PyDict_CheckExact(data)) {
    PyObject* left = observe_row_now(observer, data);
    if (left != Py_NotImplemented) {
      if (left == nullptr || left == Py_None) return left;
      return track_leftovers(self, left);
    }
    Py_DECREF(left);
  }
  static PyObject* const general = PyUnicode_InternFromString("_observe_general");
  if (general == nullptr) return nullptr;
  return PyObject_CallMethodObjArgs(self, general, data, t == nullptr ? Py_None : t, nullptr);
}

// The per-request case, `monitor.observe(row)` with one positional dict row,
// as one straight path; everything else is observe_general's.
DRIFTLINE_HOT PyObject* paths_observe(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  PyObject* observer = paths_of(self)->observer;
  if (DRIFTLINE_LIKELY(nargs == 1 && kwnames == nullptr && observer != nullptr && PyDict_CheckExact(args[0]))) {
    PyObject* left = observe_row_now(observer, args[0]);
    if (DRIFTLINE_LIKELY(left == Py_None)) return left;  // counted, nothing left for Python
    if (left == nullptr) return nullptr;
    if (left != Py_NotImplemented) return track_leftovers(self, left);
    Py_DECREF(left);
    return observe_general(self, args, nargs, kwnames, true);
  }
  return observe_general(self, args, nargs, kwnames, false);
}

// time() on a Monitor whose paths are not set: its _timer (an uninitialized
// Monitor's guard raises there).
DRIFTLINE_COLD PyObject* time_general(PyObject* self) {
  PyObject* prototype = PyObject_GetAttrString(self, "_timer");  // an uninitialized Monitor says so here
  if (prototype == nullptr) return nullptr;
  PyObject* fresh = PyObject_CallMethod(prototype, "fresh", nullptr);
  Py_DECREF(prototype);
  return fresh;
}

DRIFTLINE_HOT PyObject* paths_time(PyObject* self, PyObject*) {
  PyObject* timer = paths_of(self)->timer;
  PyObject* observer = paths_of(self)->observer;
  if (DRIFTLINE_UNLIKELY(timer == nullptr || observer == nullptr)) return time_general(self);
  // The timer starts a request: what the request's observe and the timer's
  // exit will touch is asked for now, to arrive while the service works.
  prefetch_timer_exit(timer);
  prefetch_row_observe(observer);
  return fresh_latency_timer(timer);
}

// The Monitor's documentation of these two methods lives here, with them.
PyMethodDef paths_methods[] = {
    {"observe", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(paths_observe)),
     METH_FASTCALL | METH_KEYWORDS,
     "observe($self, data, t=None)\n--\n\n"
     "Counts one row or a batch of rows at time ``t`` (the clock's now when None).\n\n"
     "Rows: a dict of name -> scalar, or a 1-D array / list in profile order.\n"
     "Batches: a mapping of name -> 1-D column, a pandas DataFrame, or a 2-D\n"
     "array (rows x features, in profile order). ``t`` is one timestamp for\n"
     "the whole call or, for a batch, a 1-D numeric array with one per row\n"
     "(sorted or not: replaying logged traffic gives the state the rows would\n"
     "have left one by one, late, future and expired rows counted as ever).\n"
     "Missing fields, unexpected fields, None/NaN, non-finite and unreadable\n"
     "values and unseen categories are counted, never raised on. Raises only\n"
     "for shapes it cannot read (``TypeError``/``ValueError``), for a NaN\n"
     "timestamp and for per-row timestamps that do not match the rows, before\n"
     "counting anything."},
    {"time", paths_time, METH_NOARGS,
     "time($self, /)\n--\n\n"
     "Times a block or a function as latency: ``with m.time(): ...`` or ``@m.time()``.\n\n"
     "The block's duration on the monotonic clock is recorded at the Monitor\n"
     "clock's time of exit, also when the block raises. Use one ``time()``\n"
     "per block (the decorator does this per call): a timer object is not\n"
     "meant to be shared between threads or tasks."},
    {"_set_request_paths", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(set_request_paths)),
     METH_FASTCALL, "_set_request_paths(observer, timer): the RowObserver and LatencyTimer the two methods use."},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot paths_slots[] = {
    {Py_tp_new, reinterpret_cast<void*>(PyType_GenericNew)},
    {Py_tp_dealloc, reinterpret_cast<void*>(paths_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(paths_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(paths_clear)},
    {Py_tp_methods, paths_methods},
    {Py_tp_doc, const_cast<char*>("The C base of driftline.Monitor: observe() and time() on the per-request paths.")},
    {0, nullptr},
};

PyType_Spec paths_spec = {"driftline._core.RequestPaths", int(sizeof(RequestPathsObject)), 0,
                          Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, paths_slots};

}  // namespace

void register_request_paths(pybind11::module_& m) {
  PyObject* type = PyType_FromSpec(&paths_spec);
  if (type == nullptr) throw pybind11::error_already_set();
  m.add_object("RequestPaths", pybind11::reinterpret_steal<pybind11::object>(type));
}

}  // namespace driftline::bindings
