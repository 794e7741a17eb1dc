// The driftline._core extension module: wires the per-area registrations.
#include "register.hpp"  // first: it brings in Python.h

#include "driftline/mutex.hpp"

namespace {

// Core locks never wait with the GIL held (driftline/mutex.hpp): a thread that
// finds one taken gives the GIL up while it waits, so one batch running without
// the GIL cannot stall every Python thread behind a small call that needs its lock.
void* release_gil_if_held() { return PyGILState_Check() ? static_cast<void*>(PyEval_SaveThread()) : nullptr; }
void reacquire_gil(void* token) { PyEval_RestoreThread(static_cast<PyThreadState*>(token)); }
const driftline::WaitHooks gil_wait{&release_gil_if_held, &reacquire_gil};

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "driftline's C++ core. Use the typed wrappers in the driftline package.";
  driftline::set_wait_hooks(&gil_wait);
  driftline::bindings::register_errors(m);
  driftline::bindings::register_simd(m);
  driftline::bindings::register_axis(m);
  driftline::bindings::register_histogram(m);
  driftline::bindings::register_sketch(m);
  driftline::bindings::register_drift(m);
  driftline::bindings::register_window(m);
  driftline::bindings::register_feature_window(m);
  driftline::bindings::register_row_encoder(m);
  driftline::bindings::register_envelope(m);
  driftline::bindings::register_categories(m);
  driftline::bindings::register_evaluator(m);
  driftline::bindings::register_timer(m);
  driftline::bindings::register_request_paths(m);
}
