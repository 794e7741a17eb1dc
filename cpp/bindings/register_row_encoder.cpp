// driftline._core.RowEncoder: turns Python rows and column mappings into rows of doubles for a FeatureWindow.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>


#include <cmath>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "batch_times.hpp"
#include "clock.hpp"
#include "common.hpp"
#include "convert.hpp"
#include "driftline/feature_window.hpp"
#include "driftline/hot.hpp"
#include "driftline/prefetch.hpp"
#include "driftline/window.hpp"
#include "category_rule.hpp"
#include "plain_type.hpp"
#include "register.hpp"
#include "request_path.hpp"

namespace driftline::bindings {

namespace py = pybind11;

namespace {
class RowEncoder;
}  // namespace

template <>
struct requires_init<RowEncoder> : std::true_type {};

namespace {

const double kAbsent = from_bits(kAbsentBits);
const double kInvalid = from_bits(kInvalidBits);
const double kMissing = std::numeric_limits<double>::quiet_NaN();

// Unseen categorical values reported back per call and feature, as (feature,
// value, row) triples (the Python layer keeps a bounded set of examples; the
// counts themselves are in the "other" bin). The cap is per feature, so one
// feature's many unseen values never crowd out another's.
constexpr std::size_t kMaxUnseenPerFeature = 8;

// Converts one field of a row. Numbers (anything float() accepts without
// parsing text) for numeric features; hashable values looked up in `codes`
// for categorical ones. None and NaN are missing; what cannot be read is
// invalid. Never raises.
DRIFTLINE_HOT double encode_value(std::size_t f, PyObject* value, PyObject* codes, double other, std::vector<py::object>* unseen,
                    std::size_t unseen_cap, Py_ssize_t row) {
  if (value == Py_None) return kMissing;
  if (PyFloat_CheckExact(value)) {
    const double x = PyFloat_AS_DOUBLE(value);
    if (std::isnan(x) || codes == Py_None) return x;
  }
  if (codes == Py_None) {
    if (PyUnicode_Check(value) || PyBytes_Check(value)) return kInvalid;  // no text parsing
    if (!PyFloat_Check(value) && !PyLong_Check(value)) {
      if (is_missing_object(value)) return kMissing;  // pandas NA / NaT, numpy NaT
      if (is_numpy_time(value)) return kInvalid;      // a time is not a number (whatever its unit)
    }
    const double x = PyFloat_AsDouble(value);
    if (x == -1.0 && PyErr_Occurred()) {
      PyErr_Clear();
      return kInvalid;
    }
    return x;
  }
  // Categorical: looked up by the canonical rule the Profile counted with
  // (category_rule.hpp); an exact str is already canonical.
  py::object category;
  if (!PyUnicode_CheckExact(value)) {
    try {
      category = canonical_category(value);
    } catch (py::error_already_set&) {  // a __str__ or item() that raises: the value cannot be read
      return kInvalid;
    }
    if (!category) return kMissing;
    value = category.ptr();
  }
  PyObject* code = PyDict_GetItemWithError(codes, value);  // borrowed
  if (code == nullptr) {
    if (PyErr_Occurred()) {  // cannot happen for canonical categories (all hashable); kept as a guard
      PyErr_Clear();
      return kInvalid;
    }
    if (unseen != nullptr && unseen->size() < unseen_cap) {
      unseen->push_back(py::make_tuple(f, py::reinterpret_borrow<py::object>(value), row));
    }
    return other;
  }
  return PyFloat_AsDouble(code);  // codes are Python ints written by the encoder's owner
}

// One row of doubles for FeatureWindow::observe_row, and the row's field
// per feature while it is read, on the stack up to kInline features. Each
// call has its own: converting a value can run Python code (__float__,
// __hash__) and let another thread observe through the same encoder meanwhile.
class RowScratch {
 public:
  explicit RowScratch(std::size_t features) : features_(features) {
    if (features > kInline) {
      heap_values_.resize(features);
      heap_fields_.resize(features);
      values_ = heap_values_.data();
      fields_ = heap_fields_.data();
    }
    std::fill(fields_, fields_ + features, nullptr);
  }
  RowScratch(const RowScratch&) = delete;
  RowScratch& operator=(const RowScratch&) = delete;
  ~RowScratch() {
    for (std::size_t f = 0; f < features_; ++f) Py_XDECREF(fields_[f]);
  }

  double& operator[](std::size_t f) noexcept { return values_[f]; }
  const double* values() const noexcept { return values_; }
  // The row's value for feature f, nullptr while none was found. The scratch
  // holds a reference to each: converting one value may run Python code that
  // changes the row.
  PyObject* field(std::size_t f) const noexcept { return fields_[f]; }
  void set_field(std::size_t f, PyObject* value) noexcept {
    Py_XINCREF(value);
    Py_XSETREF(fields_[f], value);
  }

 private:
  static constexpr std::size_t kInline = 64;
  std::size_t features_;
  double inline_values_[kInline];
  PyObject* inline_fields_[kInline];
  std::vector<double> heap_values_;
  std::vector<PyObject*> heap_fields_;
  double* values_ = inline_values_;
  PyObject** fields_ = inline_fields_;
};

// A str's characters as CPython stores them (its kind: 1, 2 or 4 bytes per
// character, the narrowest that holds them, so equal strs have equal bytes).
struct StrBytes {
  const void* data;
  std::size_t size;  // bytes
  int kind;
};

inline bool str_bytes(PyObject* s, StrBytes* out) {
#if PY_VERSION_HEX < 0x030C0000
  if (PyUnicode_READY(s) != 0) {  // a legacy (not ready) str that cannot be made ready: MemoryError
    PyErr_Clear();
    return false;
  }
#endif
  out->kind = PyUnicode_KIND(s);
  out->size = std::size_t(PyUnicode_GET_LENGTH(s)) * std::size_t(out->kind);
  out->data = PyUnicode_DATA(s);
  return true;
}

// The feature names' characters in one contiguous block, with the position
// each field had in the last row read. Reading a row walks the row's own
// fields (fresh in the caches: the service has just parsed them) and checks
// each against the name the same position held last time, in this block:
// names are not read as str objects, which a server's other work evicts from
// the caches between requests (22 of them cost more than the row's own work).
//
// Guarantee: a field is matched to feature f only if its characters equal
// name f's; a guess that misses is looked up in the name -> feature dict.
// Thread safety: read and written with the GIL held, without running Python
// code in between; a guess is only a hint, so a stale one costs a lookup.
class NameTable {
 public:
  std::size_t size() const noexcept { return entries_.size(); }

  // Brings the table's lines into the caches (see driftline/prefetch.hpp).
  void prefetch() const noexcept {
    prefetch_lines(entries_.data(), entries_.size() * sizeof(Entry));
    prefetch_lines(chars_.data(), chars_.size());
    prefetch_lines(guesses_.data(), guesses_.size() * sizeof(std::uint32_t));
  }

  void add(const py::str& name) {
    StrBytes bytes{};
    if (!str_bytes(name.ptr(), &bytes)) throw py::error_already_set();
    entries_.push_back({std::uint32_t(chars_.size()), std::uint32_t(bytes.size), std::uint8_t(bytes.kind)});
    chars_.append(static_cast<const char*>(bytes.data), bytes.size);
    guesses_.push_back(std::uint32_t(guesses_.size()));  // first guess: fields in profile order
  }

  // The feature whose name the exact str `key` equals, given it is field
  // `position` of its row: the guess for that position when it matches,
  // else (learning the position) the lookup in `index`; -1 for no feature,
  // -2 with the Python error set.
  DRIFTLINE_HOT Py_ssize_t find(PyObject* key, std::size_t position, PyObject* index) {
    StrBytes bytes{};
    if (!str_bytes(key, &bytes)) return -2;
    if (DRIFTLINE_LIKELY(position < guesses_.size() && equals(guesses_[position], bytes))) {
      return Py_ssize_t(guesses_[position]);
    }
    return learn(key, position, index);
  }

 private:
  struct Entry {
    std::uint32_t offset;  // into chars_
    std::uint32_t size;    // bytes
    std::uint8_t kind;
  };

  // find() for a key the guess missed: the lookup in `index`, and the
  // position learned (a changed field order, an unexpected field).
  Py_ssize_t learn(PyObject* key, std::size_t position, PyObject* index) {
    PyObject* feature = PyDict_GetItemWithError(index, key);  // borrowed; exact str keys run no Python code
    if (feature == nullptr) return PyErr_Occurred() ? -2 : -1;
    const Py_ssize_t f = PyLong_AsSsize_t(feature);
    if (position < guesses_.size()) guesses_[position] = std::uint32_t(f);
    return f;
  }

  bool equals(std::uint32_t f, const StrBytes& bytes) const noexcept {
    const Entry& e = entries_[f];
    return e.size == bytes.size && e.kind == bytes.kind && std::memcmp(chars_.data() + e.offset, bytes.data, e.size) == 0;
  }

  std::string chars_;
  std::vector<Entry> entries_;  // per feature
  std::vector<std::uint32_t> guesses_;  // position in a row -> feature expected there
};

// Whether observe() reads a mapping whose first value is `v` as one row:
// plain scalars here; anything else (numpy scalars, arrays, lists) is left to
// the Python layer's general rule.
bool plain_scalar(PyObject* v) {
  return v == Py_None || PyFloat_CheckExact(v) || PyLong_Check(v) || PyUnicode_CheckExact(v) || PyBytes_CheckExact(v);
}

// Maps fields of Python rows to the FeatureWindow's features, by name.
// Thread safety: as the FeatureWindow's; the encoder's own tables are only
// changed by track(), under the GIL.
class RowEncoder {
 public:
  // names: one str per feature; codes: per feature None (numeric) or a dict
  // mapping each known category to its code 0 .. K-1 (K = len(dict), unseen
  // values get code K).
  RowEncoder(const std::vector<py::str>& names, const std::vector<py::object>& codes) {
    if (names.size() != codes.size()) throw py::value_error("names and codes differ in length");
    for (std::size_t f = 0; f < names.size(); ++f) {
      names_.push_back(names[f]);
      if (index_.contains(names[f])) throw py::value_error("feature names must be distinct");
      index_[names[f]] = f;
      if (PyUnicode_CheckExact(names[f].ptr())) name_table_.add(names[f]);
      const py::object& c = codes[f];
      if (!c.is_none() && !py::isinstance<py::dict>(c)) throw py::type_error("codes must be dicts or None");
      codes_.push_back(c);
      other_.push_back(c.is_none() ? 0.0 : double(py::len(c)));
      for (auto item : (c.is_none() ? py::dict() : py::reinterpret_borrow<py::dict>(c))) {
        if (!py::isinstance<py::int_>(item.second)) throw py::type_error("category codes must be ints");
      }
    }
  }

  std::size_t features() const noexcept { return names_.size(); }

  // Brings the tables a row's observe reads into the caches (see driftline/prefetch.hpp).
  DRIFTLINE_HOT void prefetch() const noexcept {
    name_table_.prefetch();
    prefetch_lines(codes_.data(), codes_.size() * sizeof(py::object));
    prefetch_lines(other_.data(), other_.size() * sizeof(double));
  }

  void check(const FeatureWindow& window) const {
    if (window.features() != names_.size()) throw py::value_error("the encoder and the window have different features");
  }

  // Lets observe() count a plain number of the unexpected field `name` into
  // `window` (the field's tracker window, kept alive here) without returning
  // it to Python: a renamed field costs little more than a known one.
  void track(const py::str& name, const py::object& window) {
    auto* w = window.cast<SketchWindow*>();
    tracked_[name] = py::make_tuple(window, py::capsule(static_cast<void*>(w)));
  }

  // Observes one mapping row; returns (fields matched, unseen (feature,
  // value, row) triples or None, the unexpected (name, value) pairs it did
  // not count itself or None). Plain numbers of tracked unexpected fields are
  // counted here (see track), after the row, as the Python trackers would.
  py::tuple observe(FeatureWindow& window, const py::dict& row, double t, double now) {
    check(window);
    std::vector<py::object> unseen;
    const std::size_t matched = count_row(window, row.ptr(), t, now, &unseen);
    return py::make_tuple(matched, unseen_pairs(unseen), unexpected_of(row, matched, t, now));
  }

  // The per-request path, one call: unless `row` is not one row (its first
  // value is not a plain scalar: returns NotImplemented, having read and
  // counted nothing), reads the clock and counts the row at the clock's now.
  // Returns None when nothing is left for Python (no unseen category, no
  // unexpected field it did not count itself), else (now, unseen, rest) as
  // observe() gives them.
  py::object observe_now(FeatureWindow& window, const py::dict& row, const ClockReader& clock) {
    check(window);
    return py::reinterpret_steal<py::object>(observe_checked(window, row.ptr(), clock));
  }

  // observe_now on a window check() accepted (a RowObserver's), as a new
  // reference: the request's path, straight through; leftovers are built
  // out of line.
  DRIFTLINE_HOT PyObject* observe_checked(FeatureWindow& window, PyObject* row, const ClockReader& clock) {
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    if (DRIFTLINE_UNLIKELY(PyDict_Next(row, &pos, &key, &value) && !plain_scalar(value))) {
      Py_INCREF(Py_NotImplemented);
      return Py_NotImplemented;
    }
    const double now = clock.read();
    std::vector<py::object> unseen;
    const std::size_t matched = count_row(window, row, now, now, &unseen);
    if (DRIFTLINE_LIKELY(unseen.empty() && Py_ssize_t(matched) == PyDict_GET_SIZE(row))) Py_RETURN_NONE;
    return leftovers(row, matched, now, unseen);
  }

  // Observes a batch given as a dict of name -> column (n values each): numeric
  // arrays are taken as float64 without a per-value step, anything else is
  // read value by value as in a row; features the dict lacks are absent. All
  // columns are converted and checked before anything is counted. Returns
  // (fields matched, unseen (feature, value, row) triples or None).
  py::tuple observe_columns(FeatureWindow& window, const py::dict& columns, std::size_t n, py::handle t, double now) {
    check(window);
    const BatchTimes times(t, n);
    const std::size_t nf = names_.size();
    std::vector<Float64Array> keep(nf);
    std::vector<const double*> pointers(nf, &kAbsent);
    std::vector<std::ptrdiff_t> strides(nf, 0);
    std::vector<py::object> unseen;
    std::size_t matched = 0;
    for (std::size_t f = 0; f < nf; ++f) {
      PyObject* column = PyDict_GetItemWithError(columns.ptr(), names_[f].ptr());
      if (column == nullptr) {
        if (PyErr_Occurred()) throw py::error_already_set();
        continue;
      }
      ++matched;
      keep[f] = numeric_array(f, column) ? as_float64_vector(column, "column") : encode_sequence(f, column, &unseen);
      if (std::size_t(keep[f].size()) != n) {
        throw py::value_error("column " + py::repr(names_[f]).cast<std::string>() + " holds " +
                              std::to_string(keep[f].size()) + " values, expected " + std::to_string(n));
      }
      pointers[f] = keep[f].data();
      strides[f] = 1;
    }
    {
      py::gil_scoped_release release;  // `keep` holds the buffers; the core sees no Python object
      times.observe(window, FeatureRows{pointers.data(), strides.data()}, n, now);
    }
    return py::make_tuple(matched, unseen_pairs(unseen));
  }

 private:
  // Encodes one row into its own scratch and counts it; returns the fields matched.
  DRIFTLINE_HOT std::size_t count_row(FeatureWindow& window, PyObject* row, double t, double now, std::vector<py::object>* unseen) {
    RowScratch scratch(names_.size());
    if (!find_fields_by_walking(row, scratch)) find_fields_by_name(row, scratch);
    std::size_t matched = 0;
    for (std::size_t f = 0; f < names_.size(); ++f) {
      PyObject* value = scratch.field(f);
      if (value == nullptr) {
        scratch[f] = kAbsent;
        continue;
      }
      ++matched;
      PyObject* codes = codes_[f].ptr();
      // A float of a numeric feature is its value (NaN included: missing);
      // the rest is encode_value's. One value per feature per row: at most one
      // example each, no cap needed.
      scratch[f] = DRIFTLINE_LIKELY(PyFloat_CheckExact(value) && codes == Py_None)
                       ? PyFloat_AS_DOUBLE(value)
                       : encode_value(f, value, codes, other_[f], unseen, SIZE_MAX, 0);
    }
    window.observe_row(scratch.values(), t, now);
    return matched;
  }

  // Each feature's field of `row`, looked up by name (any keys, any values).
  DRIFTLINE_COLD void find_fields_by_name(PyObject* row, RowScratch& scratch) const {
    for (std::size_t f = 0; f < names_.size(); ++f) {
      PyObject* value = PyDict_GetItemWithError(row, names_[f].ptr());  // borrowed
      if (value == nullptr && PyErr_Occurred()) throw py::error_already_set();
      scratch.set_field(f, value);
    }
  }

  // Each feature's field of `row`, found by walking the row (see NameTable),
  // when every key of the row and every name is an exact str (whose equality
  // is their characters'; comparing them runs no Python code, so the row
  // cannot change during the walk); false, having found nothing, otherwise.
  // Dict keys are distinct, so each feature is found at most once, exactly
  // as a lookup by name finds it.
  DRIFTLINE_HOT bool find_fields_by_walking(PyObject* row, RowScratch& scratch) {
    if (name_table_.size() != names_.size()) return false;
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    for (std::size_t position = 0; PyDict_Next(row, &pos, &key, &value); ++position) {
      if (DRIFTLINE_UNLIKELY(!PyUnicode_CheckExact(key))) return forget_fields(scratch);
      const Py_ssize_t f = name_table_.find(key, position, index_.ptr());
      if (f == -2) throw py::error_already_set();
      if (f >= 0) scratch.set_field(std::size_t(f), value);
    }
    return true;
  }

  // (now, unseen, rest) for a row observe_checked counted at now, or None
  // when the tracked fields took every unexpected one (new reference).
  DRIFTLINE_COLD PyObject* leftovers(PyObject* row, std::size_t matched, double now,
                                     const std::vector<py::object>& unseen) {
    py::object rest = unexpected_of(py::reinterpret_borrow<py::dict>(row), matched, now, now);
    if (unseen.empty() && rest.is_none()) Py_RETURN_NONE;
    return py::make_tuple(now, unseen_pairs(unseen), rest).release().ptr();
  }

  // Undoes a walk that met a key other than an exact str; false.
  DRIFTLINE_COLD bool forget_fields(RowScratch& scratch) const {
    for (std::size_t f = 0; f < names_.size(); ++f) scratch.set_field(f, nullptr);
    return false;
  }

  // The unexpected fields of a row that matched `matched` features (None when there are none).
  py::object unexpected_of(const py::dict& row, std::size_t matched, double t, double now) {
    const Py_ssize_t extra = PyDict_GET_SIZE(row.ptr()) - Py_ssize_t(matched);
    return extra > 0 ? unexpected(row, extra, t, now) : py::none();
  }

  // The row's fields the profile does not know: plain numbers of tracked
  // fields are recorded into their windows; the rest go back to Python.
  py::object unexpected(const py::dict& row, Py_ssize_t count, double t, double now) {
    py::list rest;
    // Tracked fields first: a renamed field is found by one lookup, without
    // walking the row, once it is tracked.
    PyObject *key, *value, *entry;
    Py_ssize_t pos = 0;
    while (count > 0 && PyDict_Next(tracked_.ptr(), &pos, &key, &entry)) {
      value = PyDict_GetItemWithError(row.ptr(), key);  // borrowed
      if (value == nullptr) {
        if (PyErr_Occurred()) throw py::error_already_set();
        continue;
      }
      --count;
      if (!record_number(entry, value, t, now)) rest.append(py::make_tuple(py::reinterpret_borrow<py::object>(key),
                                                                           py::reinterpret_borrow<py::object>(value)));
    }
    pos = 0;
    while (count > 0 && PyDict_Next(row.ptr(), &pos, &key, &value)) {
      int skip = PyDict_Contains(index_.ptr(), key);
      if (skip == 0) skip = PyDict_Contains(tracked_.ptr(), key);  // handled above
      if (skip < 0) throw py::error_already_set();
      if (skip) continue;
      --count;
      rest.append(py::make_tuple(py::reinterpret_borrow<py::object>(key), py::reinterpret_borrow<py::object>(value)));
    }
    if (rest.empty()) return py::none();
    return std::move(rest);
  }

  // Records a plain number (float, or int within the double range; not bool)
  // into a tracked field's window; false for anything else (Python decides).
  static bool record_number(PyObject* entry, PyObject* value, double t, double now) {
    double x;
    if (PyFloat_CheckExact(value)) {
      x = PyFloat_AS_DOUBLE(value);
    } else if (PyLong_CheckExact(value)) {
      x = PyLong_AsDouble(value);
      if (x == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return false;
      }
    } else {
      return false;
    }
    static_cast<SketchWindow*>(PyCapsule_GetPointer(PyTuple_GET_ITEM(entry, 1), nullptr))->record(x, t, now);
    return true;
  }

  // A numeric feature's column that numpy can convert without reading values one by one.
  bool numeric_array(std::size_t f, PyObject* column) const {
    if (!codes_[f].is_none() || !py::array::check_(column)) return false;
    const char kind = py::reinterpret_borrow<py::array>(column).dtype().kind();
    return kind == 'b' || kind == 'i' || kind == 'u' || kind == 'f';
  }

  // Reads a column value by value (see encode_value); text and scalars are not columns.
  Float64Array encode_sequence(std::size_t f, py::handle values, std::vector<py::object>* unseen) const {
    if (codes_[f].is_none() && py::array::check_(values.ptr())) {
      const auto array = py::reinterpret_borrow<py::array>(values);
      const char kind = array.dtype().kind();
      if ((kind == 'M' || kind == 'm') && array.ndim() == 1) return times_as_numbers(array);
    }
    if (PyUnicode_Check(values.ptr()) || PyBytes_Check(values.ptr()) || !PySequence_Check(values.ptr())) {
      throw py::type_error("column " + py::repr(names_[f]).cast<std::string>() + " must be a sequence of values, got " +
                           std::string(Py_TYPE(values.ptr())->tp_name));
    }
    // numpy's tolist() makes plain Python scalars in one call, much faster than
    // iterating the array (which boxes every element as a numpy scalar).
    py::object seq = py::array::check_(values.ptr())
                         ? values.attr("tolist")()
                         : py::reinterpret_steal<py::object>(PySequence_Fast(values.ptr(), "a column must be a sequence"));
    if (!seq) throw py::error_already_set();
    if (!PyList_Check(seq.ptr()) && !PyTuple_Check(seq.ptr())) {  // a 0-d array's tolist() is a scalar
      throw py::type_error("column " + py::repr(names_[f]).cast<std::string>() + " must be 1-D");
    }
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq.ptr());
    PyObject** items = PySequence_Fast_ITEMS(seq.ptr());
    Float64Array out(n);
    double* p = out.mutable_data();
    const std::size_t cap = unseen->size() + kMaxUnseenPerFeature;
    for (Py_ssize_t i = 0; i < n; ++i) p[i] = encode_value(f, items[i], codes_[f].ptr(), other_[f], unseen, cap, i);
    return out;
  }

  // A datetime64/timedelta64 column for a numeric feature, as encode_value
  // reads each of its scalars: NaT is missing, every time is invalid (times
  // are not numbers, in any unit or input shape).
  static Float64Array times_as_numbers(const py::array& times) {
    const auto raw = py::array_t<std::int64_t>::ensure(times.attr("view")("int64"));
    if (!raw) throw py::error_already_set();
    const auto n = raw.shape(0);
    Float64Array out(n);
    double* p = out.mutable_data();
    const auto view = raw.unchecked<1>();
    for (py::ssize_t i = 0; i < n; ++i) {
      p[i] = view(i) == std::numeric_limits<std::int64_t>::min() ? kMissing : kInvalid;
    }
    return out;
  }

  static py::object unseen_pairs(const std::vector<py::object>& unseen) {
    if (unseen.empty()) return py::none();
    py::list out;
    for (const auto& v : unseen) out.append(v);
    return std::move(out);
  }

  std::vector<py::str> names_;
  NameTable name_table_;  // the names again, when all are exact strs, for reading rows (see NameTable)
  py::dict index_;        // name -> feature
  py::dict tracked_;  // unexpected field name -> (SketchWindow object, capsule of its pointer)
  std::vector<py::object> codes_;
  std::vector<double> other_;
};

// RowObserver: Monitor.observe's per-request call, RowEncoder::observe_now on
// one encoder, window and clock, as a plain CPython type (see plain_type.hpp):
// `observe(row)` is a METH_O method on pointers resolved when the object is
// made. It keeps the three objects alive. Thread safety: as observe_now's.
struct RowObserverObject {
  PyObject_HEAD
  PyObject* encoder;  // strong references
  PyObject* window;
  PyObject* clock;
  RowEncoder* encoder_ptr;
  FeatureWindow* window_ptr;
  const ClockReader* clock_ptr;
};

PyObject* row_observer_new(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
  static const char* keywords[] = {"encoder", "window", "clock", nullptr};
  PyObject *encoder, *window, *clock;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO:RowObserver", const_cast<char**>(keywords), &encoder, &window,
                                   &clock)) {
    return nullptr;
  }
  RowEncoder* encoder_ptr = nullptr;
  FeatureWindow* window_ptr = nullptr;
  const ClockReader* clock_ptr = nullptr;
  try {
    if (!py::isinstance<RowEncoder>(encoder)) throw py::type_error("encoder must be a driftline._core.RowEncoder");
    if (!py::isinstance<FeatureWindow>(window)) throw py::type_error("window must be a driftline._core.FeatureWindow");
    if (!py::isinstance<ClockReader>(clock)) throw py::type_error("clock must be a driftline._core.Clock");
    encoder_ptr = py::handle(encoder).cast<RowEncoder*>();
    window_ptr = py::handle(window).cast<FeatureWindow*>();
    clock_ptr = py::handle(clock).cast<const ClockReader*>();
    encoder_ptr->check(*window_ptr);
  } catch (...) {
    set_error_from_current_exception();
    return nullptr;
  }
  auto* self = reinterpret_cast<RowObserverObject*>(type->tp_alloc(type, 0));
  if (self == nullptr) return nullptr;
  Py_INCREF(encoder);
  Py_INCREF(window);
  Py_INCREF(clock);
  self->encoder = encoder;
  self->window = window;
  self->clock = clock;
  self->encoder_ptr = encoder_ptr;
  self->window_ptr = window_ptr;
  self->clock_ptr = clock_ptr;
  return reinterpret_cast<PyObject*>(self);
}

void row_observer_dealloc(PyObject* object) {
  auto* self = reinterpret_cast<RowObserverObject*>(object);
  PyTypeObject* type = Py_TYPE(object);
  Py_XDECREF(self->encoder);
  Py_XDECREF(self->window);
  Py_XDECREF(self->clock);
  type->tp_free(object);
  Py_DECREF(type);  // instances of a heap type hold a reference to it
}

PyTypeObject* row_observer_type = nullptr;  // set when the module registers it

DRIFTLINE_COLD PyObject* refuse_row(PyObject* row) {
  PyErr_Format(PyExc_TypeError, "a row must be a dict, got %s", Py_TYPE(row)->tp_name);
  return nullptr;
}

DRIFTLINE_HOT PyObject* row_observer_observe(PyObject* object, PyObject* row) {
  auto* self = reinterpret_cast<RowObserverObject*>(object);
  if (DRIFTLINE_UNLIKELY(!PyDict_Check(row))) return refuse_row(row);
  try {
    return self->encoder_ptr->observe_checked(*self->window_ptr, row, *self->clock_ptr);
  } catch (...) {
    set_error_from_current_exception();
    return nullptr;
  }
}

PyMethodDef row_observer_methods[] = {
    {"observe", row_observer_observe, METH_O,
     "observe(row): RowEncoder.observe_now(window, row, clock) on this observer's objects."},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot row_observer_slots[] = {
    {Py_tp_new, reinterpret_cast<void*>(row_observer_new)},
    {Py_tp_dealloc, reinterpret_cast<void*>(row_observer_dealloc)},
    {Py_tp_methods, row_observer_methods},
    {Py_tp_doc, const_cast<char*>("RowObserver(encoder, window, clock): the per-request row path of Monitor.observe.")},
    {0, nullptr},
};

PyType_Spec row_observer_spec = {"driftline._core.RowObserver", int(sizeof(RowObserverObject)), 0, Py_TPFLAGS_DEFAULT,
                                 row_observer_slots};

}  // namespace

bool is_row_observer(PyObject* object) { return row_observer_type != nullptr && Py_IS_TYPE(object, row_observer_type); }

DRIFTLINE_HOT PyObject* observe_row_now(PyObject* observer, PyObject* row) { return row_observer_observe(observer, row); }

DRIFTLINE_HOT void prefetch_row_observe(PyObject* observer) noexcept {
  const auto* self = reinterpret_cast<const RowObserverObject*>(observer);
  self->encoder_ptr->prefetch();
  self->window_ptr->prefetch_row();
  prefetch_object(*self->clock_ptr);
}

void register_row_encoder(py::module_& m) {
  py::class_<RowEncoder>(m, "RowEncoder", "Maps the fields of Python rows to a FeatureWindow's features.")
      .def(py::init<const std::vector<py::str>&, const std::vector<py::object>&>(), py::arg("names"), py::arg("codes"))
      .def("observe", &RowEncoder::observe, py::arg("window"), py::arg("row"), py::arg("t"), py::arg("now"))
      .def("observe_now", &RowEncoder::observe_now, py::arg("window"), py::arg("row"), py::arg("clock"))
      .def("observe_columns", &RowEncoder::observe_columns, py::arg("window"), py::arg("columns"), py::arg("n"),
           py::arg("t"), py::arg("now"))
      .def("track", &RowEncoder::track, py::arg("name"), py::arg("window"))
      .def_property_readonly("features", &RowEncoder::features);
  PyObject* type = PyType_FromSpec(&row_observer_spec);
  if (type == nullptr) throw py::error_already_set();
  row_observer_type = reinterpret_cast<PyTypeObject*>(type);  // the module's reference keeps it alive
  m.add_object("RowObserver", py::reinterpret_steal<py::object>(type));
}

}  // namespace driftline::bindings
