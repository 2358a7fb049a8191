// The op table. Each op decodes its JS arguments on the calling (JS) thread and returns
// a Job: a closure over plain C++ values that does the work. The same Job runs inline for
// a synchronous call, or on the native worker for an async one (binding/worker.h), so
// every op has an async form for free and the worker never touches N-API.
#pragma once
#include <ATen/core/Tensor.h>
#include <napi.h>

#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "binding/args.h"
#include "binding/tensor_table.h"

namespace tn {

/// What an op produces: nothing, a tensor, several tensors, or a plain value.
using Value = std::variant<std::monostate, at::Tensor, std::vector<at::Tensor>, double, int64_t,
                           bool, std::vector<int64_t>, std::string>;
using Job = std::function<Value()>;
using OpFn = Job (*)(Args&);

struct OpDef {
  const char* name;
  OpFn fn;
};

/// Every op, in a stable order; JS looks ops up by name once, at load.
const std::vector<OpDef>& opTable();

/// Turns an op's result into JS values, storing tensors in the table (JS thread only).
Napi::Value toJs(Napi::Env env, TensorTable& table, Value&& value);

// Each ops_*.cpp contributes its family of ops.
void registerCreationOps(std::vector<OpDef>& ops);
void registerShapeOps(std::vector<OpDef>& ops);
void registerMathOps(std::vector<OpDef>& ops);
void registerNnOps(std::vector<OpDef>& ops);
void registerAutogradOps(std::vector<OpDef>& ops);
void registerKernelOps(std::vector<OpDef>& ops);
void registerSwinOps(std::vector<OpDef>& ops);
void registerOptimOps(std::vector<OpDef>& ops);
void registerMemoryOps(std::vector<OpDef>& ops);

}  // namespace tn

/// Declares an op: `TN_OP(matmul) { auto a = A.tensor(0), b = A.tensor(1); TN_RUN(at::matmul(a, b)); }`
#define TN_OP(name) static ::tn::Job op_##name(::tn::Args& A)
/// Returns the Job that computes `expr` (captures decoded arguments by value).
#define TN_RUN(...) return [=]() -> ::tn::Value { return __VA_ARGS__; }
/// Registers TN_OP(name) under its JS name.
#define TN_REG(list, name) list.push_back({#name, &op_##name})
