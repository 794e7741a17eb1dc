// A batch's event times as the bindings receive them: one float, or one per row.
#pragma once

#include <pybind11/pybind11.h>

#include <cstddef>
#include <string>

#include "convert.hpp"
#include "driftline/feature_window.hpp"

namespace driftline::bindings {

namespace py = pybind11;

// A batch's event times: a float for every row, or a 1-D numeric array of one per row.
class BatchTimes {
 public:
  BatchTimes(py::handle t, std::size_t rows) {
    if (PyFloat_Check(t.ptr())) {
      single_ = PyFloat_AS_DOUBLE(t.ptr());
      return;
    }
    per_row_ = as_float64_vector(t, "t");
    has_per_row_ = true;
    if (std::size_t(per_row_.size()) != rows) {
      throw py::value_error("t holds " + std::to_string(per_row_.size()) + " timestamps for " + std::to_string(rows) +
                            " rows");
    }
  }
  // Runs without the GIL: `per_row_` keeps the buffer alive.
  void observe(FeatureWindow& window, const FeatureRows& rows, std::size_t n, double now) const {
    if (has_per_row_) {
      window.observe(rows, n, per_row_.data(), now);
    } else {
      window.observe(rows, n, single_, now);
    }
  }

 private:
  double single_ = 0.0;
  bool has_per_row_ = false;
  Float64Array per_row_;
};

}  // namespace driftline::bindings
