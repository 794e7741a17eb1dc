// Categorical reference columns: counting and coding Python values by the
// canonical category rule in one C++ loop (no Python bytecode per value).
//
// The rule itself is category_rule.hpp (shared with the row encoder).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "category_rule.hpp"
#include "register.hpp"

namespace driftline::bindings {

namespace py = pybind11;

namespace {

py::object as_list(py::handle values) {
  if (PyList_Check(values.ptr()) || PyTuple_Check(values.ptr())) return py::reinterpret_borrow<py::object>(values);
  if (py::isinstance<py::array>(values)) return values.attr("tolist")();
  PyObject* seq = PySequence_Fast(values.ptr(), "values must be a sequence");
  if (seq == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(seq);
}

// (dict category -> count in first-seen order, missing count) for a column.
py::tuple count_categories(py::handle values) {
  const py::object seq = as_list(values);
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq.ptr());
  PyObject** items = PySequence_Fast_ITEMS(seq.ptr());
  py::dict index;  // category -> position in `counts`
  std::vector<py::object> keys;
  std::vector<std::uint64_t> counts;
  std::uint64_t missing = 0;
  for (Py_ssize_t i = 0; i < n; ++i) {
    const py::object key = canonical_category(items[i]);
    if (!key) {
      ++missing;
      continue;
    }
    PyObject* slot = PyDict_GetItemWithError(index.ptr(), key.ptr());  // borrowed
    if (slot != nullptr) {
      ++counts[PyLong_AsSize_t(slot)];
      continue;
    }
    if (PyErr_Occurred()) throw py::error_already_set();
    index[key] = py::int_(counts.size());
    keys.push_back(key);
    counts.push_back(1);
  }
  py::dict out;
  for (std::size_t k = 0; k < keys.size(); ++k) out[keys[k]] = py::int_(counts[k]);
  return py::make_tuple(out, missing);
}

// Each value's code by the same rule: codes[category], `other` for categories
// not in codes, NaN for missing values.
py::array_t<double> encode_categories(py::handle values, const py::dict& codes, double other) {
  const py::object seq = as_list(values);
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq.ptr());
  PyObject** items = PySequence_Fast_ITEMS(seq.ptr());
  py::array_t<double> out(n);
  double* p = out.mutable_data();
  for (Py_ssize_t i = 0; i < n; ++i) {
    const py::object key = canonical_category(items[i]);
    if (!key) {
      p[i] = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    PyObject* code = PyDict_GetItemWithError(codes.ptr(), key.ptr());  // borrowed
    if (code == nullptr && PyErr_Occurred()) throw py::error_already_set();
    p[i] = code == nullptr ? other : PyFloat_AsDouble(code);
  }
  return out;
}

// A numpy unicode array ('U', native UCS4, 1-D, contiguous) counted on its
// buffer: each element is the str numpy would make of it (trailing NUL code
// points stripped), and no str is created per value. Returns (distinct values
// as str in first-seen order, per-row index into them as int32, their counts).
py::tuple count_unicode(const py::array& values) {
  if (values.ndim() != 1 || values.dtype().kind() != 'U' || (values.flags() & py::array::c_style) == 0 ||
      values.dtype().byteorder() == '>') {
    throw py::value_error("expected a 1-D contiguous native-order unicode array");
  }
  const auto n = std::size_t(values.shape(0));
  const auto width = std::size_t(values.itemsize()) / 4;  // code points per element
  const auto* base = static_cast<const char*>(values.data());
  std::unordered_map<std::string_view, std::int32_t> index;
  std::vector<std::string_view> keys;
  std::vector<std::uint64_t> counts;
  py::array_t<std::int32_t> ids{py::ssize_t(n)};
  std::int32_t* out = ids.mutable_data();
  {
    py::gil_scoped_release release;  // `values` keeps the buffer; only C++ objects below
    for (std::size_t i = 0; i < n; ++i) {
      const char* p = base + i * width * 4;
      std::size_t length = width;
      while (length > 0) {
        std::uint32_t code_point;
        std::memcpy(&code_point, p + (length - 1) * 4, 4);
        if (code_point != 0) break;
        --length;
      }
      const std::string_view key(p, length * 4);
      const auto found = index.try_emplace(key, std::int32_t(keys.size()));
      if (found.second) {
        keys.push_back(key);
        counts.push_back(0);
      }
      ++counts[std::size_t(found.first->second)];
      out[i] = found.first->second;
    }
  }
  py::list texts;
  for (const std::string_view& key : keys) {
    PyObject* text = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, key.data(), py::ssize_t(key.size() / 4));
    if (text == nullptr) throw py::error_already_set();
    texts.append(py::reinterpret_steal<py::object>(text));
  }
  py::array_t<std::uint64_t> count_array(py::ssize_t(counts.size()), counts.data());
  return py::make_tuple(texts, ids, count_array);
}

}  // namespace

void register_categories(py::module_& m) {
  m.def("_count_unicode", &count_unicode, py::arg("values"),
        "(distinct str values, per-row index into them, counts) of a numpy unicode array");
  m.def("_count_categories", &count_categories, py::arg("values"),
        "(dict of canonical category -> count, missing count) of a column");
  m.def("_encode_categories", &encode_categories, py::arg("values"), py::arg("codes"), py::arg("other"),
        "each value's category code (other when unknown, NaN when missing)");
  m.def(
      "_canonical_category",
      [](py::handle v) {
        py::object c = canonical_category(v.ptr());
        return c ? c : py::none();
      },
      py::arg("value"),
      "the canonical category of one value, or None when it is missing");
}

}  // namespace driftline::bindings
