// One registration function per area; module.cpp wires them together.
#pragma once

#include <pybind11/pybind11.h>

#include "initialized.hpp"

namespace driftline::bindings {

void register_errors(pybind11::module_& m);
void register_simd(pybind11::module_& m);
void register_axis(pybind11::module_& m);
void register_histogram(pybind11::module_& m);
void register_sketch(pybind11::module_& m);
void register_drift(pybind11::module_& m);
void register_window(pybind11::module_& m);
void register_feature_window(pybind11::module_& m);
void register_row_encoder(pybind11::module_& m);
void register_envelope(pybind11::module_& m);
void register_categories(pybind11::module_& m);
void register_evaluator(pybind11::module_& m);
void register_timer(pybind11::module_& m);
void register_request_paths(pybind11::module_& m);

}  // namespace driftline::bindings
