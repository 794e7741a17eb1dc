#include <pybind11/pybind11.h>

#include "driftline/errors.hpp"
#include "register.hpp"

namespace driftline::bindings {

void register_errors(pybind11::module_& m) {
  pybind11::register_exception<decode_error>(m, "DecodeError", PyExc_ValueError);
  pybind11::register_exception<axis_mismatch>(m, "AxisMismatchError", PyExc_ValueError);
}

}  // namespace driftline::bindings
