// Decodes the JS arguments of an op into C++ values. The TypeScript layer validates
// options before calling in, so these checks are a backstop: they still name the op and
// the argument, so a wrong call never reaches libtorch as garbage.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <ATen/core/List.h>
#include <c10/util/Optional.h>
#include <napi.h>

#include <string>
#include <vector>

#include "binding/tensor_table.h"

namespace tn {

/// Maps the dtype codes shared with lib/dtype.ts to ATen scalar types.
at::ScalarType scalarTypeFromCode(int32_t code);
int32_t codeFromScalarType(at::ScalarType type);  // -1 when not exposed to JS

class Args {
 public:
  Args(const Napi::CallbackInfo& info, size_t first, TensorTable& table, const char* op)
      : info_(info), first_(first), table_(table), op_(op) {}

  Napi::Env env() const { return info_.Env(); }
  const char* op() const { return op_; }
  size_t size() const { return info_.Length() > first_ ? info_.Length() - first_ : 0; }
  Napi::Value raw(size_t i) const { return info_[first_ + i]; }
  /// True when argument i is present and neither undefined nor null.
  bool has(size_t i) const;

  const at::Tensor& tensor(size_t i) const;
  c10::optional<at::Tensor> optTensor(size_t i) const;
  std::vector<at::Tensor> tensors(size_t i) const;
  /// An array whose entries are Tensors or null (null keeps that dimension whole in indexing).
  c10::List<c10::optional<at::Tensor>> optTensors(size_t i) const;
  int64_t i64(size_t i) const;
  c10::optional<int64_t> optI64(size_t i) const;
  double f64(size_t i) const;
  c10::optional<double> optF64(size_t i) const;
  bool flag(size_t i) const;
  /// A JS number becomes an integer Scalar when it is integral, a floating one otherwise;
  /// booleans become bool Scalars and bigints int64 ones.
  at::Scalar scalar(size_t i) const;
  std::vector<int64_t> ints(size_t i) const;
  std::vector<double> doubles(size_t i) const;
  std::string str(size_t i) const;
  at::ScalarType dtype(size_t i) const;
  c10::optional<at::ScalarType> optDtype(size_t i) const;
  c10::Device device(size_t i) const;

  [[noreturn]] void fail(size_t i, const std::string& expected) const;

  /// From now on, remember every tensor decoded (for async ops and in-place writes, which
  /// must know the storages an op touches).
  void record() { record_ = true; }
  /// The tensors decoded since record().
  const std::vector<at::Tensor>& recorded() const { return recorded_; }

 private:
  const Napi::CallbackInfo& info_;
  size_t first_;
  TensorTable& table_;
  const char* op_;
  bool record_ = false;
  mutable std::vector<at::Tensor> recorded_;

  const at::Tensor* element(const Napi::Array& a, uint32_t k, size_t i, bool allowNull) const;
};

}  // namespace tn
