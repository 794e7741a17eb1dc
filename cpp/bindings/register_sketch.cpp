#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <string>
#include <vector>

#include "common.hpp"
#include "convert.hpp"
#include "driftline/order_statistics.hpp"
#include "driftline/quantile_sketch.hpp"
#include "fast_record.hpp"
#include "register.hpp"

namespace driftline::bindings {

namespace py = pybind11;

namespace {

std::uint32_t checked_max_buckets(std::int64_t max_buckets) {
  if (max_buckets < QuantileSketch::min_max_buckets || max_buckets > QuantileSketch::max_max_buckets) {
    throw py::value_error("max_buckets must be between " +
                          std::to_string(QuantileSketch::min_max_buckets) + " and " +
                          std::to_string(QuantileSketch::max_max_buckets) + ", got " +
                          std::to_string(max_buckets));
  }
  return std::uint32_t(max_buckets);
}

}  // namespace

void register_sketch(py::module_& m) {
  py::class_<QuantileSketch> cls(m, "QuantileSketch",
                                 "Mergeable relative-error quantile sketch (see driftline.QuantileSketch).");
  cls.def(py::init([](int scale, std::int64_t max_buckets) {
            return QuantileSketch(scale, checked_max_buckets(max_buckets));
          }),
          py::arg("scale"), py::arg("max_buckets"));
  def_mergeable(cls);
  cls.def_static("scale_for_accuracy", &ExponentMapping::scale_for_accuracy, py::arg("accuracy"))
      .def_static("relative_error_at", &ExponentMapping::relative_error_at, py::arg("scale"))
      .def("quantile", &QuantileSketch::quantile, py::arg("q"))
      .def(
          "quantiles",
          [](const QuantileSketch& s, py::handle qs) {
            Float64Array a = as_float64_vector(qs, "qs");
            std::vector<double> in(a.data(), a.data() + a.size());
            const std::vector<double> out = s.quantiles(in);
            return py::array_t<double>(py::ssize_t(out.size()), out.data());
          },
          py::arg("qs"))
      .def("rank", &QuantileSketch::rank, py::arg("x"))
      .def(
          "index",
          [](const QuantileSketch& s, double x) {
            if (!std::isfinite(x) || x == 0.0) {
              throw py::value_error("index() needs a finite non-zero value, got " +
                                    py::repr(py::float_(x)).cast<std::string>());
            }
            return ExponentMapping::at(s.scale()).index(std::fabs(x));
          },
          py::arg("x"))
      .def(
          "bounds",
          [](const QuantileSketch& s, std::int64_t i) {
            const ExponentMapping& mapping = ExponentMapping::at(s.scale());
            if (i < mapping.min_index() || i > mapping.max_index()) {
              throw py::value_error("bucket index " + std::to_string(i) + " is outside " +
                                    std::to_string(mapping.min_index()) + " .. " +
                                    std::to_string(mapping.max_index()) + " at scale " +
                                    std::to_string(s.scale()));
            }
            return py::make_tuple(mapping.lower_bound(std::int32_t(i)),
                                  mapping.upper_bound(std::int32_t(i)));
          },
          py::arg("i"))
      .def(
          "buckets",
          [](const QuantileSketch& s, bool negative) {
            const auto b = s.buckets(negative);
            py::array_t<std::int64_t> index(py::ssize_t(b.size()));
            py::array_t<std::uint64_t> counts(py::ssize_t(b.size()));
            auto iv = index.mutable_unchecked<1>();
            auto cv = counts.mutable_unchecked<1>();
            for (std::size_t j = 0; j < b.size(); ++j) {
              iv(py::ssize_t(j)) = b[j].first;
              cv(py::ssize_t(j)) = b[j].second;
            }
            return py::make_tuple(index, counts);
          },
          py::arg("negative") = false)
      .def_property_readonly("scale", &QuantileSketch::scale)
      .def_property_readonly("requested_scale", &QuantileSketch::requested_scale)
      .def_property_readonly("max_buckets", &QuantileSketch::max_buckets)
      .def_property_readonly("relative_error", &QuantileSketch::relative_error)
      .def_property_readonly("count", &QuantileSketch::count)
      .def_property_readonly("zero_count", &QuantileSketch::zero_count)
      .def_property_readonly("nan_count", &QuantileSketch::nan_count)
      .def_property_readonly("positive_inf_count", &QuantileSketch::positive_inf_count)
      .def_property_readonly("negative_inf_count", &QuantileSketch::negative_inf_count)
      .def_property_readonly("sum", &QuantileSketch::sum)
      .def_property_readonly("min", &QuantileSketch::min)
      .def_property_readonly("max", &QuantileSketch::max)
      .def_property_readonly("bucket_count", &QuantileSketch::bucket_count);
  add_fast_record(cls);

  // numpy.quantile of a reference column, exactly, without a sort (order_statistics.hpp).
  m.def(
      "_reference_quantiles",
      [](py::handle values, const QuantileSketch& sketch, const std::vector<double>& qs) {
        const Float64Array x = as_float64_vector(values, "values");
        ReferenceQuantiles r;
        {
          py::gil_scoped_release release;  // `x` holds the buffer; the sketch has its own lock
          r = linear_quantiles(x.data(), std::size_t(x.size()), sketch, qs);
        }
        return py::make_tuple(py::array_t<double>(py::ssize_t(r.values.size()), r.values.data()),
                              py::array_t<std::uint64_t>(py::ssize_t(r.equal.size()), r.equal.data()));
      },
      py::arg("values"), py::arg("sketch"), py::arg("qs"));
}

}  // namespace driftline::bindings
