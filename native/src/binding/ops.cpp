#include "binding/ops.h"

namespace tn {

const std::vector<OpDef>& opTable() {
  static const std::vector<OpDef> table = [] {
    std::vector<OpDef> ops;
    registerCreationOps(ops);
    registerShapeOps(ops);
    registerMathOps(ops);
    registerNnOps(ops);
    registerAutogradOps(ops);
    registerKernelOps(ops);
    registerSwinOps(ops);
    registerOptimOps(ops);
    registerMemoryOps(ops);
    return ops;
  }();
  return table;
}

namespace {
struct ToJs {
  Napi::Env env;
  TensorTable& table;
  Napi::Value operator()(std::monostate) const { return env.Undefined(); }
  Napi::Value operator()(at::Tensor& t) const {
    if (!t.defined()) return env.Null();
    return Napi::Number::New(env, table.insert(std::move(t)));
  }
  Napi::Value operator()(std::vector<at::Tensor>& ts) const {
    Napi::Array a = Napi::Array::New(env, ts.size());
    for (uint32_t i = 0; i < ts.size(); ++i) a.Set(i, (*this)(ts[i]));
    return a;
  }
  Napi::Value operator()(double d) const { return Napi::Number::New(env, d); }
  Napi::Value operator()(int64_t i) const { return Napi::Number::New(env, static_cast<double>(i)); }
  Napi::Value operator()(bool b) const { return Napi::Boolean::New(env, b); }
  Napi::Value operator()(std::vector<int64_t>& v) const {
    Napi::Array a = Napi::Array::New(env, v.size());
    for (uint32_t i = 0; i < v.size(); ++i) a.Set(i, Napi::Number::New(env, static_cast<double>(v[i])));
    return a;
  }
  Napi::Value operator()(std::string& s) const { return Napi::String::New(env, s); }
};
}  // namespace

Napi::Value toJs(Napi::Env env, TensorTable& table, Value&& value) {
  return std::visit(ToJs{env, table}, value);
}

}  // namespace tn
