#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "convert.hpp"
#include "driftline/distributions.hpp"
#include "driftline/drift.hpp"
#include "register.hpp"

namespace driftline::bindings {

namespace py = pybind11;

namespace {

std::vector<double> to_vector(py::handle values, const char* what) {
  Float64Array a = as_float64_vector(values, what);
  return std::vector<double>(a.data(), a.data() + a.size());
}

KsMethod parse_method(const std::string& name) {
  if (name == "auto") return KsMethod::automatic;
  if (name == "exact") return KsMethod::exact;
  if (name == "asymp") return KsMethod::asymptotic;
  throw py::value_error("method must be 'auto', 'exact' or 'asymp', got '" + name + "'");
}

const char* method_name(KsMethod m) {
  switch (m) {
    case KsMethod::exact: return "exact";
    case KsMethod::asymptotic: return "asymp";
    default: return "auto";
  }
}

}  // namespace

void register_drift(py::module_& m) {
  // Binned statistics: count vectors in, numbers out (cheap; no GIL release needed).
  m.def("_psi", [](py::handle r, py::handle c, double smoothing) {
    return psi(to_vector(r, "reference"), to_vector(c, "current"), smoothing);
  });
  m.def("_js_distance", [](py::handle r, py::handle c) {
    return js_distance(to_vector(r, "reference"), to_vector(c, "current"));
  });
  m.def("_hellinger", [](py::handle r, py::handle c) {
    return hellinger(to_vector(r, "reference"), to_vector(c, "current"));
  });
  m.def("_ks_binned", [](py::handle r, py::handle c) {
    const BinnedKsResult k = ks_binned(to_vector(r, "reference"), to_vector(c, "current"));
    return py::make_tuple(k.statistic, k.bound, k.pvalue);
  });
  m.def("_wasserstein_binned", [](py::handle r, py::handle c, py::handle edges) {
    const BinnedWassersteinResult w =
        wasserstein_binned(to_vector(r, "reference"), to_vector(c, "current"), to_vector(edges, "edges"));
    return py::make_tuple(w.distance, w.bound);
  });
  m.def("_chi2", [](py::handle r, py::handle c) {
    const Chi2Result x = chi2_homogeneity(to_vector(r, "reference"), to_vector(c, "current"));
    return py::make_tuple(x.statistic, x.dof, x.pvalue, x.min_expected, x.cells_below_5, x.cells, x.dropped);
  });
  m.def("_psi_threshold", &psi_threshold);
  // Sample statistics: the Python layer passes sorted float64 arrays without NaN.
  m.def("_ks_sorted", [](const Float64Array& a, const Float64Array& b, const std::string& method) {
    const KsMethod requested = parse_method(method);
    const double* pa = a.data();
    const double* pb = b.data();
    const auto na = std::size_t(a.size()), nb = std::size_t(b.size());
    KsResult r;
    {
      py::gil_scoped_release release;  // the arrays are kept alive by the caller's references
      r = ks_two_sample(pa, na, pb, nb, requested);
    }
    return py::make_tuple(r.statistic, r.pvalue, method_name(r.method));
  });
  m.def("_wasserstein_sorted", [](const Float64Array& a, const Float64Array& b) {
    const double* pa = a.data();
    const double* pb = b.data();
    const auto na = std::size_t(a.size()), nb = std::size_t(b.size());
    py::gil_scoped_release release;  // as above
    return wasserstein(pa, na, pb, nb);
  });
  // The distributions, exposed for testing against scipy.
  m.def("_chi2_sf", &chi2_sf, py::arg("x"), py::arg("dof"));
  m.def("_chi2_isf", &chi2_isf, py::arg("p"), py::arg("dof"));
  m.def("_kolmogorov_sf", &kolmogorov_sf, py::arg("n"), py::arg("d"));
  m.def("_kolmogorov_limit_sf", &kolmogorov_limit_sf, py::arg("x"));
  m.def("_smirnov_sf", &smirnov_sf, py::arg("n"), py::arg("d"));
  m.def("_ks_two_sample_exact_sf", &ks_two_sample_exact_sf, py::arg("n1"), py::arg("n2"), py::arg("h"));
}

}  // namespace driftline::bindings
