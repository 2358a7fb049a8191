// Moving tensor data across the JS boundary.
//  In:  bytes are always copied into libtorch-owned memory. A tensor viewing a JS buffer
//       (from_blob) dies when the buffer is transferred or detached, so we never do that.
//  Out: a contiguous CPU tensor is handed to JS as an external ArrayBuffer that keeps the
//       tensor's storage alive (zero copy); where external buffers are refused (Electron's
//       V8 memory cage) the bytes are copied instead.
//  Files: safetensors are memory-mapped copy-on-write and viewed in place.
#pragma once
#include <ATen/core/Tensor.h>
#include <napi.h>

#include <string>
#include <vector>

namespace tn {

/// A new tensor of `type` and `shape` holding a copy of `bytes`.
at::Tensor tensorFromBytes(const void* bytes, size_t length, at::ScalarType type,
                           const std::vector<int64_t>& shape);

/// The bytes of a tensor as an ArrayBuffer (copied to a contiguous CPU tensor first if needed).
Napi::ArrayBuffer tensorToArrayBuffer(Napi::Env env, const at::Tensor& tensor, bool allowZeroCopy);

/// One tensor of a safetensors file: byte range within the data section.
struct FileTensor {
  at::ScalarType type;
  std::vector<int64_t> shape;
  uint64_t begin;
  uint64_t end;
};

/// Maps the file once and returns a tensor per entry, each viewing the mapping (copied when
/// its bytes are misaligned for the dtype). The mapping lives while any tensor uses it.
std::vector<at::Tensor> mapSafetensors(const std::string& path, uint64_t dataOffset,
                                       const std::vector<FileTensor>& entries);

}  // namespace tn
