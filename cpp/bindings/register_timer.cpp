// driftline._core.Clock and driftline._core.LatencyTimer: the latency timer's per-request path.
//
// LatencyTimer is a plain CPython type rather than a pybind11 class: a service
// creates, enters and exits one per request (see plain_type.hpp).
#include <pybind11/pybind11.h>

#include "clock.hpp"
#include "plain_type.hpp"
#include "driftline/hot.hpp"
#include "driftline/window.hpp"
#include "register.hpp"
#include "request_path.hpp"

namespace driftline::bindings {

namespace py = pybind11;

namespace {

// How deep one timer object can be nested (`with t: with t:`). The
// decorator and `monitor.time()` make a timer per use, so only explicit reuse
// of one object nests at all.
constexpr int kMaxDepth = 16;

// `with timer:` records the block's monotonic duration, in seconds, into a
// latency window at the clock's time of exit. One timer object is meant for
// one thread or task; it keeps its window and clock alive. Holds the GIL
// throughout: the work is a clock read and one sketch record under the
// window's own short lock.
struct TimerObject {
  PyObject_HEAD
  PyObject* window;  // the SketchWindow's Python object (a strong reference)
  PyObject* clock;   // the Clock's Python object (a strong reference)
  SketchWindow* window_ptr;
  const ClockReader* clock_ptr;
  int depth;
  double starts[kMaxDepth];
};

PyObject* timer_decorator = nullptr;  // driftline.monitor._timed, looked up on first use
PyTypeObject* timer_type = nullptr;   // set when the module registers it

PyObject* new_timer(PyTypeObject* type, PyObject* window, PyObject* clock) {
  SketchWindow* window_ptr = nullptr;
  const ClockReader* clock_ptr = nullptr;
  try {
    if (!py::isinstance<SketchWindow>(window)) throw py::type_error("window must be a driftline._core.SketchWindow");
    if (!py::isinstance<ClockReader>(clock)) throw py::type_error("clock must be a driftline._core.Clock");
    window_ptr = py::handle(window).cast<SketchWindow*>();
    clock_ptr = py::handle(clock).cast<const ClockReader*>();
  } catch (...) {
    set_error_from_current_exception();
    return nullptr;
  }
  auto* self = reinterpret_cast<TimerObject*>(type->tp_alloc(type, 0));
  if (self == nullptr) return nullptr;
  Py_INCREF(window);
  Py_INCREF(clock);
  self->window = window;
  self->clock = clock;
  self->window_ptr = window_ptr;
  self->clock_ptr = clock_ptr;
  self->depth = 0;
  return reinterpret_cast<PyObject*>(self);
}

PyObject* timer_new(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
  static const char* keywords[] = {"window", "clock", nullptr};
  PyObject *window, *clock;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO:LatencyTimer", const_cast<char**>(keywords), &window, &clock)) {
    return nullptr;
  }
  return new_timer(type, window, clock);
}

DRIFTLINE_HOT void timer_dealloc(PyObject* object) {
  auto* self = reinterpret_cast<TimerObject*>(object);
  PyTypeObject* type = Py_TYPE(object);
  Py_XDECREF(self->window);
  Py_XDECREF(self->clock);
  type->tp_free(object);
  Py_DECREF(type);  // instances of a heap type hold a reference to it
}

DRIFTLINE_COLD PyObject* refuse_nesting() {
  PyErr_SetString(PyExc_ValueError, "one latency timer object can be nested at most 16 deep; use monitor.time() per block");
  return nullptr;
}

DRIFTLINE_HOT PyObject* timer_enter(PyObject* object, PyObject*) {
  auto* self = reinterpret_cast<TimerObject*>(object);
  if (DRIFTLINE_UNLIKELY(self->depth == kMaxDepth)) return refuse_nesting();
  self->starts[self->depth++] = monotonic_seconds();
  Py_INCREF(object);
  return object;
}

DRIFTLINE_COLD PyObject* refuse_exit() {
  PyErr_SetString(PyExc_ValueError, "the latency timer was exited more often than entered");
  return nullptr;
}

// The clock reading and the record, with their errors: a NaN clock, a count
// at 2^64 - 1 (the start stays and nothing is recorded).
DRIFTLINE_HOT bool record_latency(TimerObject* self, double seconds) {
  try {
    const double now = self->clock_ptr->read();
    self->window_ptr->record(seconds, now, now);
    return true;
  } catch (...) {
    set_error_from_current_exception();
    return false;
  }
}

DRIFTLINE_HOT PyObject* timer_exit(PyObject* object, PyObject* const*, Py_ssize_t) {
  auto* self = reinterpret_cast<TimerObject*>(object);
  if (DRIFTLINE_UNLIKELY(self->depth == 0)) return refuse_exit();
  const double seconds = monotonic_seconds() - self->starts[self->depth - 1];
  if (DRIFTLINE_UNLIKELY(!record_latency(self, seconds))) return nullptr;
  --self->depth;
  Py_RETURN_FALSE;  // exceptions in the block propagate
}

// A new timer on the same window and clock: what monitor.time() returns. It
// copies the pointers this timer resolved: no pybind11 cast on this path.
DRIFTLINE_HOT PyObject* timer_fresh(PyObject* object, PyObject*) {
  auto* source = reinterpret_cast<TimerObject*>(object);
  auto* self = reinterpret_cast<TimerObject*>(Py_TYPE(object)->tp_alloc(Py_TYPE(object), 0));
  if (self == nullptr) return nullptr;
  Py_INCREF(source->window);
  Py_INCREF(source->clock);
  self->window = source->window;
  self->clock = source->clock;
  self->window_ptr = source->window_ptr;
  self->clock_ptr = source->clock_ptr;
  self->depth = 0;
  return reinterpret_cast<PyObject*>(self);
}

// `@monitor.time()`: the decorated function, timed per call with a fresh timer each.
PyObject* timer_call(PyObject* object, PyObject* args, PyObject* kwargs) {
  if (timer_decorator == nullptr) {
    PyObject* module = PyImport_ImportModule("driftline.monitor");
    if (module == nullptr) return nullptr;
    timer_decorator = PyObject_GetAttrString(module, "_timed");
    Py_DECREF(module);
    if (timer_decorator == nullptr) return nullptr;
  }
  PyObject* function;
  if (kwargs != nullptr && PyDict_GET_SIZE(kwargs) != 0) {
    PyErr_SetString(PyExc_TypeError, "a latency timer decorates one function, given positionally");
    return nullptr;
  }
  if (!PyArg_ParseTuple(args, "O:LatencyTimer", &function)) return nullptr;
  return PyObject_CallFunctionObjArgs(timer_decorator, object, function, nullptr);
}

PyObject* timer_depth(PyObject* object, void*) { return PyLong_FromLong(reinterpret_cast<TimerObject*>(object)->depth); }

PyMethodDef timer_methods[] = {
    {"__enter__", timer_enter, METH_NOARGS, "Starts timing; returns the timer."},
    {"__exit__", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(timer_exit)), METH_FASTCALL,
     "Records the block's duration as latency; exceptions propagate."},
    {"fresh", timer_fresh, METH_NOARGS, "A new timer on the same window and clock."},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef timer_getset[] = {
    {"depth", timer_depth, nullptr, "How many entries are open.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot timer_slots[] = {
    {Py_tp_new, reinterpret_cast<void*>(timer_new)},
    {Py_tp_dealloc, reinterpret_cast<void*>(timer_dealloc)},
    {Py_tp_call, reinterpret_cast<void*>(timer_call)},
    {Py_tp_methods, timer_methods},
    {Py_tp_getset, timer_getset},
    {Py_tp_doc, const_cast<char*>("with timer: records the block's duration into a latency window (see Monitor.time).")},
    {0, nullptr},
};

PyType_Spec timer_spec = {"driftline._core.LatencyTimer", int(sizeof(TimerObject)), 0, Py_TPFLAGS_DEFAULT, timer_slots};

}  // namespace

bool is_latency_timer(PyObject* object) { return timer_type != nullptr && Py_IS_TYPE(object, timer_type); }

DRIFTLINE_HOT PyObject* fresh_latency_timer(PyObject* timer) { return timer_fresh(timer, nullptr); }

DRIFTLINE_HOT void prefetch_timer_exit(PyObject* timer) noexcept {
  reinterpret_cast<const TimerObject*>(timer)->window_ptr->prefetch_record();
}

void register_timer(py::module_& m) {
  py::class_<ClockReader>(m, "Clock", "A clock as the per-request paths read it (time.time without a Python call).")
      .def(py::init<py::object>(), py::arg("clock"))
      .def("__call__", &ClockReader::read)
      .def_property_readonly("wall", &ClockReader::wall)
      .def_property_readonly("callable", &ClockReader::callable);
  m.attr("max_clock_seconds") = max_clock_seconds;
  m.attr("min_slot_width") = min_slot_width;
  PyObject* type = PyType_FromSpec(&timer_spec);
  if (type == nullptr) throw py::error_already_set();
  timer_type = reinterpret_cast<PyTypeObject*>(type);  // the module's reference keeps it alive
  m.add_object("LatencyTimer", py::reinterpret_steal<py::object>(type));
}

}  // namespace driftline::bindings
