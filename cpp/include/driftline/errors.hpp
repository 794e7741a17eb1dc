// driftline/errors.hpp -- the exception types the core throws.
//
// The bindings translate each one to a Python exception; every one of them is
// a ValueError subclass on the Python side, so callers can catch broadly.
#pragma once

#include <stdexcept>
#include <string>

namespace driftline {

// A serialized blob is malformed: truncated, corrupted, from an unknown format
// version, of another object type, or internally inconsistent. Thrown before
// any state is modified (decoding is all-or-nothing).
class decode_error : public std::runtime_error {
 public:
  explicit decode_error(const std::string& what) : std::runtime_error("cannot decode: " + what) {}
};

// Two objects with different binnings were combined (merge, drift statistic).
class axis_mismatch : public std::invalid_argument {
 public:
  explicit axis_mismatch(const std::string& what) : std::invalid_argument(what) {}
};

}  // namespace driftline
