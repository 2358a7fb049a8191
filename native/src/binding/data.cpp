#include "binding/data.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "binding/errors.h"

namespace tn {

static int64_t checkedNumel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw ArgError(ErrorKind::kRangeError, "shape has a negative dimension: " + std::to_string(d));
    if (d != 0 && n > INT64_MAX / d) throw ArgError(ErrorKind::kRangeError, "shape has too many elements");
    n *= d;
  }
  return n;
}

at::Tensor tensorFromBytes(const void* bytes, size_t length, at::ScalarType type,
                           const std::vector<int64_t>& shape) {
  const int64_t numel = checkedNumel(shape);
  const size_t expected = static_cast<size_t>(numel) * c10::elementSize(type);
  if (expected != length)
    throw ArgError(ErrorKind::kRangeError, "data has " + std::to_string(length) + " bytes but shape needs " +
                                               std::to_string(expected));
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(type));
  if (length > 0) std::memcpy(t.data_ptr(), bytes, length);
  return t;
}

Napi::ArrayBuffer tensorToArrayBuffer(Napi::Env env, const at::Tensor& tensor, bool allowZeroCopy) {
  at::Tensor t = tensor.detach();
  if (!t.device().is_cpu()) t = t.cpu();
  t = t.contiguous();
  const size_t nbytes = t.numel() * t.element_size();
  if (allowZeroCopy && nbytes > 0) {
    auto* owner = new at::Tensor(t);
    napi_value buffer;
    napi_status status = napi_create_external_arraybuffer(
        env, owner->data_ptr(), nbytes,
        [](napi_env, void*, void* hint) { delete static_cast<at::Tensor*>(hint); }, owner, &buffer);
    if (status == napi_ok) return Napi::ArrayBuffer(env, buffer);
    delete owner;  // e.g. napi_no_external_buffers_allowed: fall back to a copy
    if (env.IsExceptionPending()) env.GetAndClearPendingException();
  }
  Napi::ArrayBuffer copy = Napi::ArrayBuffer::New(env, nbytes);
  if (nbytes > 0) std::memcpy(copy.Data(), t.data_ptr(), nbytes);
  return copy;
}

namespace {
// RAII over one mmap'd file.
struct Mapping {
  void* base = MAP_FAILED;
  size_t size = 0;
  ~Mapping() {
    if (base != MAP_FAILED) munmap(base, size);
  }
};
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};
}  // namespace

std::vector<at::Tensor> mapSafetensors(const std::string& path, uint64_t dataOffset,
                                       const std::vector<FileTensor>& entries) {
  Fd file{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) throw ArgError(ErrorKind::kError, "cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  if (fstat(file.fd, &st) != 0) throw ArgError(ErrorKind::kError, "cannot stat " + path);
  auto mapping = std::make_shared<Mapping>();
  mapping->size = static_cast<size_t>(st.st_size);
  if (mapping->size > 0) {
    // Private and writable: in-place ops on a loaded tensor copy the page, never the file.
    mapping->base = mmap(nullptr, mapping->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, file.fd, 0);
    if (mapping->base == MAP_FAILED) throw ArgError(ErrorKind::kError, "cannot map " + path);
  }
  std::vector<at::Tensor> out;
  out.reserve(entries.size());
  for (const FileTensor& e : entries) {
    const size_t itemSize = c10::elementSize(e.type);
    const uint64_t expected = static_cast<uint64_t>(checkedNumel(e.shape)) * itemSize;
    if (e.end < e.begin || e.end - e.begin != expected || dataOffset + e.end > mapping->size)
      throw ArgError(ErrorKind::kRangeError, path + ": a tensor's byte range does not match its shape and dtype, or lies outside the file");
    char* ptr = static_cast<char*>(mapping->base) + dataOffset + e.begin;
    if (expected == 0) {
      out.push_back(at::empty(e.shape, at::TensorOptions().dtype(e.type)));
    } else if (reinterpret_cast<uintptr_t>(ptr) % itemSize != 0) {
      out.push_back(tensorFromBytes(ptr, expected, e.type, e.shape));
    } else {
      auto keep = mapping;
      out.push_back(at::from_blob(ptr, e.shape, [keep](void*) mutable { keep.reset(); },
                                  at::TensorOptions().dtype(e.type)));
    }
  }
  return out;
}

}  // namespace tn
