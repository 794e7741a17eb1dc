// Bound classes refuse to be used before their __init__ has built the C++ object.
//
// pybind11 lets Python make an instance without running __init__
// (`cls.__new__(cls)`, a failing __init__ whose `self` was kept, a subclass
// that never calls super().__init__). Its generic loader would then allocate
// raw, unconstructed memory for the value and hand it to the method: a crash
// or a hang. Every class marked here loads through a caster that first checks
// the instance's holder was constructed and raises TypeError otherwise, so
// each method, property and argument of that type gets the check without
// writing it per method.
//
// Every translation unit that binds or converts one of these types must see
// this header before its first use (register.hpp includes it), so that every
// unit instantiates the same caster.
#pragma once

#include <pybind11/pybind11.h>

#include <string>
#include <type_traits>
#include <typeinfo>

namespace driftline {

class Axis;
class Histogram;
class QuantileSketch;
class FeatureWindow;
class Evaluator;
template <typename T>
class Window;

namespace bindings {

// Marks a bound type whose instances are only usable once __init__ built them.
template <typename T>
struct requires_init : std::false_type {};

template <>
struct requires_init<Axis> : std::true_type {};
template <>
struct requires_init<Histogram> : std::true_type {};
template <>
struct requires_init<QuantileSketch> : std::true_type {};
template <>
struct requires_init<FeatureWindow> : std::true_type {};
template <>
struct requires_init<Evaluator> : std::true_type {};
template <typename T>
struct requires_init<Window<T>> : std::true_type {};

// Raises TypeError when `src` is an instance of the bound class `type` whose
// C++ value was never constructed; returns for anything else (the loader then
// accepts or refuses it as usual).
inline void require_initialized(pybind11::handle src, const std::type_info& type) {
  namespace detail = pybind11::detail;
  detail::type_info* info = detail::get_type_info(type);
  if (!src || info == nullptr || !PyObject_TypeCheck(src.ptr(), info->type)) return;
  auto* instance = reinterpret_cast<detail::instance*>(src.ptr());
  const detail::value_and_holder slot = instance->get_value_and_holder(info, /*throw_if_missing=*/false);
  if (slot && slot.holder_constructed()) return;
  throw pybind11::type_error(std::string(Py_TYPE(src.ptr())->tp_name) +
                             " object is not initialized: its __init__ was not called or did not complete");
}

}  // namespace bindings
}  // namespace driftline

namespace pybind11::detail {

template <typename T>
class type_caster<T, std::enable_if_t<driftline::bindings::requires_init<T>::value>> : public type_caster_base<T> {
 public:
  bool load(handle src, bool convert) {
    driftline::bindings::require_initialized(src, typeid(T));
    return type_caster_base<T>::load(src, convert);
  }
};

}  // namespace pybind11::detail
