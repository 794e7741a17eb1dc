// The driftline._core extension module: wires the per-area registrations.
#include "register.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "driftline's C++ core. Use the typed wrappers in the driftline package.";
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
}
