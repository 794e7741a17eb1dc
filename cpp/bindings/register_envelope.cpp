// driftline._core.seal / unseal: the binary envelope, for the objects the Python layer serializes.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "common.hpp"
#include "driftline/serde.hpp"
#include "register.hpp"

namespace driftline::bindings {

namespace py = pybind11;

void register_envelope(py::module_& m) {
  m.def(
      "seal",
      [](int type, const py::bytes& payload, std::uint16_t version) {
        const std::string_view view = payload;
        const std::vector<std::uint8_t> body(view.begin(), view.end());
        return to_py_bytes(driftline::seal(ObjectType(type), body, version));
      },
      py::arg("type"), py::arg("payload"), py::arg("version") = 0,
      "Wraps a payload in the driftline envelope (magic, version, type, CRC-32C); version 0: the type's current one.");
  m.def(
      "unseal",
      [](int type, const py::bytes& data) {
        const std::string_view view = data;
        std::uint16_t version = 0;
        ByteReader r =
            driftline::open(ObjectType(type), reinterpret_cast<const std::uint8_t*>(view.data()), view.size(), &version);
        return py::make_tuple(version, py::bytes(reinterpret_cast<const char*>(r.cursor()), r.remaining()));
      },
      py::arg("type"), py::arg("data"),
      "Checks the envelope and returns (version, payload); raises DecodeError.");
}

}  // namespace driftline::bindings
