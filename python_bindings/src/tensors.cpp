//===- tensors.cpp - DLPack helpers: bfloat16 tensors as their uint16 bits ---===//
//
// numpy has no bfloat16 DLPack code, so np.from_dlpack rejects a torch.bfloat16 tensor. The
// attn package turns every input into a numpy array; for bfloat16 DLPack tensors it calls
// bf16_bits() for a zero-copy uint16 view, and bf16_export() turns a uint16 result back into a
// bfloat16 DLPack tensor for the input's framework.
//
//===----------------------------------------------------------------------------===//
#include "common.h"

#include <vector>

namespace attn_python {

namespace {

using Any = nb::ndarray<nb::ro, nb::device::cpu>;

void shapeAndStrides(const Any &a, std::vector<size_t> &shape, std::vector<int64_t> &strides) {
  for (size_t i = 0; i < a.ndim(); ++i) {
    shape.push_back(a.shape(i));
    strides.push_back(a.stride(i));
  }
}

} // namespace

void registerTensors(nb::module_ &m) {
  m.def(
      "bf16_bits",
      [](nb::handle tensor) {
        Any a;
        try {
          a = nb::cast<Any>(tensor);
        } catch (const nb::cast_error &) {
          throw nb::type_error("expected a host (CPU) tensor exposing __dlpack__");
        }
        nb::dlpack::dtype t = a.dtype();
        if (t.code != (uint8_t)nb::dlpack::dtype_code::Bfloat || t.bits != 16 || t.lanes != 1)
          throw nb::type_error("expected a bfloat16 tensor");
        std::vector<size_t> shape;
        std::vector<int64_t> strides;
        shapeAndStrides(a, shape, strides);
        // The imported tensor (holding the producer's DLPack capsule) owns the memory.
        nb::object owner = nb::cast(a);
        return nb::ndarray<nb::numpy, uint16_t>(const_cast<void *>(a.data()), a.ndim(),
                                                shape.data(), owner, strides.data());
      },
      nb::arg("tensor"),
      "A zero-copy numpy uint16 view of a bfloat16 DLPack tensor's bits (read-only use).");
  m.def(
      "bf16_export",
      [](nb::ndarray<uint16_t, nb::device::cpu> bits) {
        std::vector<size_t> shape;
        std::vector<int64_t> strides;
        for (size_t i = 0; i < bits.ndim(); ++i) {
          shape.push_back(bits.shape(i));
          strides.push_back(bits.stride(i));
        }
        nb::object owner = nb::cast(bits);
        return nb::ndarray<nb::array_api>(bits.data(), bits.ndim(), shape.data(), owner, strides.data(),
                             nb::dlpack::dtype{(uint8_t)nb::dlpack::dtype_code::Bfloat, 16, 1},
                             nb::device::cpu::value);
      },
      nb::arg("bits"),
      "A zero-copy bfloat16 DLPack tensor (with __dlpack__) over a uint16 array's memory.");
}

} // namespace attn_python
