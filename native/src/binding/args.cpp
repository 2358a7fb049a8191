#include "binding/args.h"

#include <cmath>

#include "binding/errors.h"

namespace tn {

// Keep in step with DTYPES in lib/dtype.ts.
static const at::ScalarType kScalarTypes[] = {
    at::kFloat, at::kDouble, at::kHalf, at::kBFloat16, at::kChar,
    at::kByte,  at::kShort,  at::kInt,  at::kLong,     at::kBool,
};
static constexpr int32_t kNumScalarTypes = sizeof(kScalarTypes) / sizeof(kScalarTypes[0]);

at::ScalarType scalarTypeFromCode(int32_t code) {
  if (code < 0 || code >= kNumScalarTypes)
    throw ArgError(ErrorKind::kTypeError, "unknown dtype code " + std::to_string(code));
  return kScalarTypes[code];
}

int32_t codeFromScalarType(at::ScalarType type) {
  for (int32_t i = 0; i < kNumScalarTypes; ++i)
    if (kScalarTypes[i] == type) return i;
  return -1;
}

static const char* typeName(const Napi::Value& v) {
  switch (v.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "boolean";
    case napi_number: return "number";
    case napi_string: return "string";
    case napi_symbol: return "symbol";
    case napi_object: return v.IsArray() ? "array" : "object";
    case napi_function: return "function";
    case napi_external: return "external";
    case napi_bigint: return "bigint";
  }
  return "value";
}

void Args::fail(size_t i, const std::string& expected) const {
  throw ArgError(ErrorKind::kTypeError, std::string(op_) + ": argument " + std::to_string(i) +
                                            " must be " + expected + ", but got " + typeName(raw(i)));
}

bool Args::has(size_t i) const {
  if (i >= size()) return false;
  const napi_valuetype t = raw(i).Type();
  return t != napi_undefined && t != napi_null;
}

const at::Tensor& Args::tensor(size_t i) const {
  const Napi::Value v = raw(i);
  if (!v.IsNumber()) fail(i, "a Tensor");
  at::Tensor* t = table_.find(v.As<Napi::Number>().DoubleValue());
  if (t == nullptr)
    throw ArgError(ErrorKind::kError, std::string(op_) + ": argument " + std::to_string(i) +
                                          " is a disposed Tensor");
  if (record_) recorded_.push_back(*t);
  return *t;
}

c10::optional<at::Tensor> Args::optTensor(size_t i) const {
  if (!has(i)) return c10::nullopt;
  return tensor(i);
}

// Element k of the array at argument i: a live tensor (or nullptr for null when allowed).
const at::Tensor* Args::element(const Napi::Array& a, uint32_t k, size_t i, bool allowNull) const {
  const Napi::Value e = a.Get(k);
  if (allowNull && (e.IsNull() || e.IsUndefined())) return nullptr;
  at::Tensor* t = e.IsNumber() ? table_.find(e.As<Napi::Number>().DoubleValue()) : nullptr;
  if (t == nullptr)
    throw ArgError(ErrorKind::kTypeError, std::string(op_) + ": element " + std::to_string(k) + " of argument " +
                                              std::to_string(i) + (allowNull ? " is not a live Tensor or null" : " is not a live Tensor"));
  if (record_) recorded_.push_back(*t);
  return t;
}

std::vector<at::Tensor> Args::tensors(size_t i) const {
  const Napi::Value v = raw(i);
  if (!v.IsArray()) fail(i, "an array of Tensors");
  const Napi::Array a = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) out.push_back(*element(a, k, i, false));
  return out;
}

c10::List<c10::optional<at::Tensor>> Args::optTensors(size_t i) const {
  const Napi::Value v = raw(i);
  if (!v.IsArray()) fail(i, "an array of Tensors or nulls");
  const Napi::Array a = v.As<Napi::Array>();
  c10::List<c10::optional<at::Tensor>> out;
  out.reserve(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) {
    const at::Tensor* t = element(a, k, i, true);
    out.push_back(t ? c10::optional<at::Tensor>(*t) : c10::nullopt);
  }
  return out;
}

int64_t Args::i64(size_t i) const {
  const Napi::Value v = raw(i);
  if (v.IsBigInt()) {
    bool lossless = true;
    const int64_t r = v.As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless) fail(i, "an integer within int64 range");
    return r;
  }
  if (!v.IsNumber()) fail(i, "an integer");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9.2e18) fail(i, "a finite integer");
  return static_cast<int64_t>(d);
}

c10::optional<int64_t> Args::optI64(size_t i) const {
  if (!has(i)) return c10::nullopt;
  return i64(i);
}

double Args::f64(size_t i) const {
  const Napi::Value v = raw(i);
  if (v.IsBigInt()) return static_cast<double>(i64(i));
  if (!v.IsNumber()) fail(i, "a number");
  return v.As<Napi::Number>().DoubleValue();
}

c10::optional<double> Args::optF64(size_t i) const {
  if (!has(i)) return c10::nullopt;
  return f64(i);
}

bool Args::flag(size_t i) const {
  const Napi::Value v = raw(i);
  if (!v.IsBoolean()) fail(i, "a boolean");
  return v.As<Napi::Boolean>().Value();
}

at::Scalar Args::scalar(size_t i) const {
  const Napi::Value v = raw(i);
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  if (v.IsBigInt()) return at::Scalar(i64(i));
  if (!v.IsNumber()) fail(i, "a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15)
    return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}

std::vector<int64_t> Args::ints(size_t i) const {
  const Napi::Value v = raw(i);
  if (v.IsNumber() || v.IsBigInt()) return {i64(i)};
  if (!v.IsArray()) fail(i, "an array of integers");
  const Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) {
    const Napi::Value e = a.Get(k);
    double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : NAN;
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9.0e15)
      throw ArgError(ErrorKind::kTypeError, std::string(op_) + ": element " + std::to_string(k) +
                                                " of argument " + std::to_string(i) +
                                                " must be an integer");
    out[k] = static_cast<int64_t>(d);
  }
  return out;
}

std::vector<double> Args::doubles(size_t i) const {
  const Napi::Value v = raw(i);
  if (v.IsNumber()) return {f64(i)};
  if (!v.IsArray()) fail(i, "an array of numbers");
  const Napi::Array a = v.As<Napi::Array>();
  std::vector<double> out(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) {
    const Napi::Value e = a.Get(k);
    if (!e.IsNumber())
      throw ArgError(ErrorKind::kTypeError, std::string(op_) + ": element " + std::to_string(k) +
                                                " of argument " + std::to_string(i) + " must be a number");
    out[k] = e.As<Napi::Number>().DoubleValue();
  }
  return out;
}

std::string Args::str(size_t i) const {
  const Napi::Value v = raw(i);
  if (!v.IsString()) fail(i, "a string");
  return v.As<Napi::String>().Utf8Value();
}

at::ScalarType Args::dtype(size_t i) const {
  const Napi::Value v = raw(i);
  if (!v.IsNumber()) fail(i, "a dtype code");
  return scalarTypeFromCode(v.As<Napi::Number>().Int32Value());
}

c10::optional<at::ScalarType> Args::optDtype(size_t i) const {
  if (!has(i)) return c10::nullopt;
  return dtype(i);
}

c10::Device Args::device(size_t i) const {
  if (!has(i)) return c10::Device(c10::kCPU);
  const std::string s = str(i);
  try {
    return c10::Device(s);
  } catch (const c10::Error&) {
    throw ArgError(ErrorKind::kTypeError,
                   std::string(op_) + ": device must be 'cpu', 'cuda' or 'cuda:N', but got '" + s + "'");
  }
}

}  // namespace tn
