#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <vector>

#include "common.hpp"
#include "driftline/histogram.hpp"
#include "fast_record.hpp"
#include "register.hpp"

namespace driftline::bindings {

namespace py = pybind11;

void register_histogram(py::module_& m) {
  py::class_<Histogram> cls(m, "Histogram",
                            "Thread-safe mergeable 1-D histogram (see driftline.Histogram).");
  cls.def(py::init<Axis>(), py::arg("axis"));
  def_mergeable(cls);
  cls.def(
         "slot_counts",
         [](const Histogram& h) {
           const std::vector<std::uint64_t> v = h.slot_counts();
           return py::array_t<std::uint64_t>(py::ssize_t(v.size()), v.data());
         },
         "All slots: underflow, bins..., overflow, NaN (a consistent snapshot).")
      .def_property_readonly("total", &Histogram::total)
      .def_property_readonly("_axis", [](const Histogram& h) { return h.axis(); });
  add_fast_record(cls);
}

}  // namespace driftline::bindings
