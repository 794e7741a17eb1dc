#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "driftline/kernels.hpp"
#include "register.hpp"

namespace driftline::bindings {

void register_simd(pybind11::module_& m) {
  m.def("simd_variants", &available_kernels,
        "SIMD kernel variants built in and supported by this CPU, best last.");
  m.def("active_simd", [] { return std::string(active_kernels().name); },
        "The SIMD kernel variant in use.");
  m.def("select_simd", &select_kernels, pybind11::arg("name"),
        "Use one SIMD kernel variant process-wide ('auto' picks the best). Results are "
        "identical across variants; this exists for testing and benchmarking.");
}

}  // namespace driftline::bindings
