// The addon's entry point: one instance per JS environment (main thread or worker_threads),
// holding that environment's tensor table and native worker. No global JS state.
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>
#include <dlfcn.h>
#include <malloc.h>
#include <torch/csrc/api/include/torch/version.h>

#include <algorithm>
#include <memory>
#include <unordered_set>

#include "binding/args.h"
#include "binding/data.h"
#include "binding/errors.h"
#include "binding/fast_ops.h"
#include "binding/ops.h"
#include "binding/tensor_table.h"
#include "binding/worker.h"
#include "kernels/linear/linear.h"
#include "kernels/memory/caching_allocator.h"

namespace tn {
namespace {

// OpenBLAS keeps its own thread pool beside libtorch's; find its controls if it is loaded.
struct OpenBlas {
  using SetThreads = void (*)(int);
  using GetThreads = int (*)();
  using GetConfig = char* (*)();
  SetThreads setThreads = nullptr;
  GetThreads getThreads = nullptr;
  GetConfig getConfig = nullptr;
  OpenBlas() {
    for (const char* lib : {"libopenblas.so.0", "libblas.so.3", "libopenblas.so"}) {
      void* h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
      if (h == nullptr) continue;
      setThreads = reinterpret_cast<SetThreads>(dlsym(h, "openblas_set_num_threads"));
      getThreads = reinterpret_cast<GetThreads>(dlsym(h, "openblas_get_num_threads"));
      getConfig = reinterpret_cast<GetConfig>(dlsym(h, "openblas_get_config"));
      if (setThreads != nullptr) break;
    }
  }
};

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports) : worker_(table_) {
    installQuietBacktraces();
    memory::installCachingCpuAllocator();
    installWarningHandler();
    DefineAddon(exports, {
        InstanceMethod("op", &Addon::Op),
        InstanceMethod("opAsync", &Addon::OpAsync),
        InstanceMethod("opNames", &Addon::OpNames),
        InstanceMethod("binary", &Addon::Binary),
        InstanceMethod("binaryScalar", &Addon::BinaryScalar),
        InstanceMethod("binaryInplace", &Addon::BinaryInplace),
        InstanceMethod("binaryScalarInplace", &Addon::BinaryScalarInplace),
        InstanceMethod("unary", &Addon::Unary),
        InstanceMethod("elementwiseNames", &Addon::ElementwiseNames),
        InstanceMethod("free", &Addon::Free),
        InstanceMethod("fromData", &Addon::FromData),
        InstanceMethod("toArrayBuffer", &Addon::ToArrayBuffer),
        InstanceMethod("item", &Addon::Item),
        InstanceMethod("mapSafetensors", &Addon::MapSafetensors),
        InstanceMethod("config", &Addon::Config),
        InstanceMethod("setNumThreads", &Addon::SetNumThreads),
        InstanceMethod("getNumThreads", &Addon::GetNumThreads),
        InstanceMethod("setGradEnabled", &Addon::SetGradEnabled),
        InstanceMethod("isGradEnabled", &Addon::IsGradEnabled),
        InstanceMethod("pushInferenceMode", &Addon::PushInferenceMode),
        InstanceMethod("popInferenceMode", &Addon::PopInferenceMode),
        InstanceMethod("isInferenceMode", &Addon::IsInferenceMode),
        InstanceMethod("memory", &Addon::Memory),
        InstanceMethod("adopt", &Addon::Adopt),
        InstanceMethod("sweep", &Addon::Sweep),
    });
  }

  ~Addon() {
    worker_.shutdown();
    inference_.clear();
  }

 private:
  // Tell V8 how much native memory JS handles keep alive, in steps, so its GC (and with it
  // the finalizer safety net) runs under native memory pressure.
  void reportMemory(Napi::Env env) {
    const int64_t delta = table_.bytes() - reported_;
    if (delta > kReportStep || delta < -kReportStep) {
      Napi::MemoryManagement::AdjustExternalMemory(env, delta);
      reported_ = table_.bytes();
    }
    if (weakCount_ != 0 && ++sinceCheck_ >= kCheckEvery) {
      sinceCheck_ = 0;
      if (!condemned_.empty() && table_.inserts() - condemnedAt_ >= kGrace) freeCondemned();
      if (collected(env)) sweep(env);
    }
  }

  // Whether V8 ran a full collection since the last sweep: a weak reference to an object
  // made then is cleared. (Young objects held weakly survive scavenges, so only a full
  // collection frees tensors, and only after one does a sweep find anything.)
  bool collected(Napi::Env env) {
    if (sentinel_ == nullptr) {
      napi_value o;
      if (napi_create_object(env, &o) == napi_ok) napi_create_reference(env, o, 0, &sentinel_);
      return false;
    }
    Napi::HandleScope scope(env);
    napi_value value = nullptr;
    if (napi_get_reference_value(env, sentinel_, &value) == napi_ok && value != nullptr) return false;
    napi_delete_reference(env, sentinel_);
    sentinel_ = nullptr;
    return true;
  }

  // ---- handles the JS side let go of -------------------------------------------------
  // A tensor outside any tidy scope is freed after V8 collects its JS object. A
  // FinalizationRegistry would only do that once the event loop turns, which a synchronous
  // loop never lets happen. So each such object gets a weak reference here, which V8 clears
  // when it collects the object; after each full collection (seen through a sentinel, above)
  // a sweep frees the handles whose objects are gone, inside the loop, and gives large frees
  // back to the OS. When no ops run, lib/memory.ts calls sweep() from an idle timer.

  // adopt(tensors): weak references to Tensor objects ({_id}) outside tidy scopes.
  Napi::Value Adopt(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsArray()) return env.Undefined();
    Napi::Array list = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); ++i) {
      Napi::HandleScope scope(env);
      Napi::Value v = list.Get(i);
      if (!v.IsObject()) continue;
      Napi::Value idValue = v.As<Napi::Object>().Get("_id");
      if (!idValue.IsNumber()) continue;
      const double id = idValue.As<Napi::Number>().DoubleValue();
      if (table_.find(id) == nullptr) continue;
      const uint32_t slot = TensorTable::slotOf(id);
      if (slot >= weak_.size()) weak_.resize(table_.capacity(), nullptr);
      if (weak_[slot] != nullptr) continue;
      napi_ref ref;
      if (napi_create_reference(env, v, 0, &ref) != napi_ok) continue;
      weak_[slot] = ref;
      ++weakCount_;
    }
    if (sentinel_ == nullptr) collected(env);  // start watching for full collections
    reportMemory(env);
    return env.Undefined();
  }

  void dropWeak(Napi::Env env, uint32_t slot) {
    if (slot < weak_.size() && weak_[slot] != nullptr) {
      napi_delete_reference(env, weak_[slot]);
      weak_[slot] = nullptr;
      --weakCount_;
    }
  }

  // A handle whose object is gone is freed a little later (kGrace more handles made), not
  // at once: JS code may have read a dead object's id into a local just before the sweep
  // and not yet passed it to the addon; no single expression makes thousands of tensors.
  void freeCondemned() {
    const int64_t before = table_.bytes();
    for (double id : condemned_) table_.release(id);  // a no-op for ids freed since
    condemned_.clear();
    if (before - table_.bytes() >= kTrimBytes) malloc_trim(0);
  }

  void sweep(Napi::Env env) {
    freeCondemned();
    condemnedAt_ = table_.inserts();
    for (uint32_t slot = 0; slot < weak_.size(); ++slot) {
      if (weak_[slot] == nullptr) continue;
      Napi::HandleScope scope(env);
      napi_value value = nullptr;
      if (napi_get_reference_value(env, weak_[slot], &value) == napi_ok && value != nullptr) continue;
      const double id = table_.idAt(slot);
      dropWeak(env, slot);
      if (id >= 0) condemned_.push_back(id);
    }
    collected(env);  // a new sentinel, so the next full collection is seen
  }

  // sweep(): from an idle timer (no JS of the user's on the stack, so condemned handles can
  // be freed at once).
  Napi::Value Sweep(const Napi::CallbackInfo& info) {
    if (weakCount_ != 0 && collected(info.Env())) sweep(info.Env());
    freeCondemned();
    reportMemory(info.Env());
    return info.Env().Undefined();
  }

  Napi::Value tensorResult(Napi::Env env, at::Tensor t) {
    const double id = table_.insert(std::move(t));
    afterOp(env);
    return Napi::Number::New(env, id);
  }

  // Book-keeping after every op: memory pressure for V8, and libtorch's warnings.
  void afterOp(Napi::Env env) {
    reportMemory(env);
    if (hasWarnings()) emitWarnings(env, takeWarnings(), warned_);
  }

  const at::Tensor& tensorArg(const Napi::CallbackInfo& info, size_t i, const char* op) {
    return Args(info, 0, table_, op).tensor(i);
  }

  // What each op writes in place: its arguments (names ending in '_', optimiser steps,
  // gradient clipping), anything (backward accumulates into leaves' gradients), or nothing.
  enum class Access : uint8_t { kRead, kWritesArgs, kWritesAnything };
  static const std::vector<Access>& writers() {
    static const std::vector<Access> table = [] {
      std::vector<Access> out;
      for (const OpDef& def : opTable()) {
        const std::string name = def.name;
        Access a = Access::kRead;
        if ((name.back() == '_' && name != "requiresGrad_") || name == "sgdStep" || name == "adamStep" ||
            name == "clipGradNorm" || name == "setGrad")
          a = Access::kWritesArgs;
        else if (name == "backward")
          a = Access::kWritesAnything;
        out.push_back(a);
      }
      return out;
    }();
    return table;
  }

  uint32_t opIndex(const Napi::CallbackInfo& info) {
    const auto& ops = opTable();
    const uint32_t index = info[0].As<Napi::Number>().Uint32Value();
    if (index >= ops.size()) throw ArgError(ErrorKind::kRangeError, "unknown op index " + std::to_string(index));
    return index;
  }

  Napi::Value Op(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      const uint32_t index = opIndex(info);
      const OpDef& def = opTable()[index];
      Args args(info, 1, table_, def.name);
      // An in-place write waits for the async ops that read what it writes (worker.h).
      const Access access = worker_.busy() ? writers()[index] : Access::kRead;
      if (access != Access::kRead) args.record();
      Job job = def.fn(args);
      if (access == Access::kWritesArgs) worker_.waitForReaders(args.recorded());
      if (access == Access::kWritesAnything) worker_.waitIdle();
      Value result = job();
      Napi::Value out = toJs(info.Env(), table_, std::move(result));
      afterOp(info.Env());
      return out;
    });
  }

  Napi::Value OpAsync(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      const OpDef& def = opTable()[opIndex(info)];
      Args args(info, 1, table_, def.name);
      args.record();
      Job job = def.fn(args);
      return worker_.submit(info.Env(), std::move(job), args.recorded());
    });
  }

  Napi::Value OpNames(const Napi::CallbackInfo& info) {
    const auto& ops = opTable();
    Napi::Array names = Napi::Array::New(info.Env(), ops.size());
    for (uint32_t i = 0; i < ops.size(); ++i) names.Set(i, Napi::String::New(info.Env(), ops[i].name));
    return names;
  }

  Napi::Value ElementwiseNames(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    Napi::Array binary = Napi::Array::New(env, kNumBinary);
    for (uint32_t i = 0; i < kNumBinary; ++i) binary.Set(i, Napi::String::New(env, kBinaryNames[i]));
    Napi::Array unary = Napi::Array::New(env, kNumUnary);
    for (uint32_t i = 0; i < kNumUnary; ++i) unary.Set(i, Napi::String::New(env, kUnaryNames[i]));
    out.Set("binary", binary);
    out.Set("unary", unary);
    return out;
  }

  // binary(code, a, b) -> id
  Napi::Value Binary(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      const uint32_t code = info[0].As<Napi::Number>().Uint32Value();
      return tensorResult(info.Env(), binaryOp(code, tensorArg(info, 1, "binary op"), tensorArg(info, 2, "binary op")));
    });
  }

  // binaryScalar(code, a, scalar, reversed) -> id
  Napi::Value BinaryScalar(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      Args args(info, 0, table_, "binary op");
      const uint32_t code = info[0].As<Napi::Number>().Uint32Value();
      return tensorResult(info.Env(), binaryScalarOp(code, args.tensor(1), args.scalar(2), info[3].ToBoolean()));
    });
  }

  Napi::Value BinaryInplace(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      Args args(info, 0, table_, "in-place op");
      at::Tensor self = args.tensor(1);
      if (worker_.busy()) worker_.waitForReaders({self});
      binaryInplaceOp(info[0].As<Napi::Number>().Uint32Value(), self, args.tensor(2));
      return info.Env().Undefined();
    });
  }

  Napi::Value BinaryScalarInplace(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      Args args(info, 0, table_, "in-place op");
      at::Tensor self = args.tensor(1);
      if (worker_.busy()) worker_.waitForReaders({self});
      binaryScalarInplaceOp(info[0].As<Napi::Number>().Uint32Value(), self, args.scalar(2));
      return info.Env().Undefined();
    });
  }

  // unary(code, a) -> id
  Napi::Value Unary(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      const uint32_t code = info[0].As<Napi::Number>().Uint32Value();
      return tensorResult(info.Env(), unaryOp(code, tensorArg(info, 1, "unary op")));
    });
  }

  // free(id) -> whether it was live
  Napi::Value Free(const Napi::CallbackInfo& info) {
    const double id = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    const bool freed = table_.release(id);
    if (freed) {
      dropWeak(info.Env(), TensorTable::slotOf(id));
      reportMemory(info.Env());
    }
    return Napi::Boolean::New(info.Env(), freed);
  }

  // fromData(view, srcDtype, shape, dstDtype, device, requiresGrad) -> id
  Napi::Value FromData(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      Args args(info, 0, table_, "tensor");
      const void* bytes;
      size_t length;
      if (info[0].IsTypedArray()) {
        Napi::TypedArray view = info[0].As<Napi::TypedArray>();
        bytes = static_cast<const uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
        length = view.ByteLength();
      } else if (info[0].IsArrayBuffer()) {
        Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
        bytes = buffer.Data();
        length = buffer.ByteLength();
      } else {
        args.fail(0, "a TypedArray or ArrayBuffer");
      }
      at::Tensor t = tensorFromBytes(bytes, length, args.dtype(1), args.ints(2));
      const at::ScalarType dst = args.dtype(3);
      const c10::Device device = args.device(4);
      if (t.scalar_type() != dst || device != t.device()) t = t.to(device, dst);
      if (args.has(5) && args.flag(5)) t.requires_grad_(true);
      return tensorResult(info.Env(), std::move(t));
    });
  }

  // toArrayBuffer(id, zeroCopy) -> ArrayBuffer of the tensor's bytes, row-major
  Napi::Value ToArrayBuffer(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      Args args(info, 0, table_, "toTypedArray");
      return tensorToArrayBuffer(info.Env(), args.tensor(0), args.has(1) && args.flag(1));
    });
  }

  // item(id) -> number | boolean
  Napi::Value Item(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      const at::Tensor& t = tensorArg(info, 0, "item");
      if (t.numel() != 1)
        throw ArgError(ErrorKind::kRangeError, "item: a Tensor with " + std::to_string(t.numel()) +
                                                   " elements cannot be converted to a number; expected exactly 1 element");
      const at::Scalar s = t.item();
      if (s.isBoolean()) return Napi::Boolean::New(info.Env(), s.toBool());
      if (s.isIntegral(false)) return Napi::Number::New(info.Env(), static_cast<double>(s.toLong()));
      return Napi::Number::New(info.Env(), s.toDouble());
    });
  }

  // mapSafetensors(path, dataOffset, [[dtype, shape, begin, end], ...]) -> ids
  Napi::Value MapSafetensors(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      Args args(info, 0, table_, "loadSafetensors");
      const std::string path = args.str(0);
      const uint64_t offset = static_cast<uint64_t>(args.i64(1));
      if (!info[2].IsArray()) args.fail(2, "an array of entries");
      Napi::Array list = info[2].As<Napi::Array>();
      std::vector<FileTensor> entries;
      for (uint32_t i = 0; i < list.Length(); ++i) {
        Napi::Array e = list.Get(i).As<Napi::Array>();
        Napi::Value fields[] = {e.Get(0u), e.Get(1u), e.Get(2u), e.Get(3u)};
        std::vector<int64_t> shape;
        Napi::Array dims = fields[1].As<Napi::Array>();
        for (uint32_t d = 0; d < dims.Length(); ++d) shape.push_back(dims.Get(d).As<Napi::Number>().Int64Value());
        entries.push_back({scalarTypeFromCode(fields[0].As<Napi::Number>().Int32Value()), shape,
                           static_cast<uint64_t>(fields[2].As<Napi::Number>().Int64Value()),
                           static_cast<uint64_t>(fields[3].As<Napi::Number>().Int64Value())});
      }
      Value tensors = mapSafetensors(path, offset, entries);
      Napi::Value out = toJs(info.Env(), table_, std::move(tensors));
      reportMemory(info.Env());
      return out;
    });
  }

  Napi::Value Config(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
#ifdef TN_TORCH_SOURCE
    out.Set("libtorchSource", Napi::String::New(env, TN_TORCH_SOURCE));
    out.Set("libtorchDir", Napi::String::New(env, TN_TORCH_DIR));
#endif
    const bool cuda = at::detail::getCUDAHooks().hasCUDA();
    out.Set("cudaAvailable", Napi::Boolean::New(env, cuda));
    out.Set("cudaDeviceCount", Napi::Number::New(env, cuda ? at::detail::getCUDAHooks().getNumGPUs() : 0));
#ifdef TN_WITH_CUDA
    out.Set("builtWithCuda", Napi::Boolean::New(env, true));
#else
    out.Set("builtWithCuda", Napi::Boolean::New(env, false));
#endif
    out.Set("numThreads", Napi::Number::New(env, at::get_num_threads()));
    out.Set("numInteropThreads", Napi::Number::New(env, at::get_num_interop_threads()));
    out.Set("blasThreads", Napi::Number::New(env, blas_.getThreads ? blas_.getThreads() : -1));
    out.Set("blas", Napi::String::New(env, blas_.getConfig ? blas_.getConfig() : "unknown"));
    out.Set("linearGemm", Napi::String::New(env, linear::linearBackend()));
    out.Set("parallelInfo", Napi::String::New(env, at::get_parallel_info()));
    out.Set("buildConfig", Napi::String::New(env, at::show_config()));
    return out;
  }

  // setNumThreads(intraOp, blas?) sets libtorch's intra-op threads and OpenBLAS's pool.
  Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      Args args(info, 0, table_, "setNumThreads");
      const int64_t n = args.i64(0);
      if (n < 1 || n > 1024) throw ArgError(ErrorKind::kRangeError, "setNumThreads: expected a thread count in [1, 1024], but got " + std::to_string(n));
      at::set_num_threads(static_cast<int>(n));
      const int64_t blas = args.has(1) ? args.i64(1) : n;
      if (blas_.setThreads && blas >= 1) blas_.setThreads(static_cast<int>(blas));
      return info.Env().Undefined();
    });
  }

  Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), at::get_num_threads());
  }

  // setGradEnabled(enabled) -> previous
  Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
    const bool previous = at::GradMode::is_enabled();
    at::GradMode::set_enabled(info[0].ToBoolean());
    return Napi::Boolean::New(info.Env(), previous);
  }

  Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
  }

  // Inference mode is an RAII guard in libtorch; JS scopes push and pop it strictly nested.
  Napi::Value PushInferenceMode(const Napi::CallbackInfo& info) {
    inference_.push_back(std::make_unique<c10::InferenceMode>(info[0].ToBoolean()));
    return info.Env().Undefined();
  }

  Napi::Value PopInferenceMode(const Napi::CallbackInfo& info) {
    if (!inference_.empty()) inference_.pop_back();
    return info.Env().Undefined();
  }

  Napi::Value IsInferenceMode(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), c10::InferenceMode::is_enabled());
  }

  Napi::Value Memory(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    // Count each storage once: views share their base's memory.
    std::unordered_set<const void*> seen;
    int64_t bytes = 0;
    table_.forEach([&](const at::Tensor& t) {
      if (!t.defined() || !t.has_storage()) return;
      if (seen.insert(t.storage().unsafeGetStorageImpl()).second) bytes += static_cast<int64_t>(t.storage().nbytes());
    });
    Napi::Object out = Napi::Object::New(env);
    out.Set("liveTensors", Napi::Number::New(env, static_cast<double>(table_.live())));
    out.Set("bytes", Napi::Number::New(env, static_cast<double>(bytes)));
    out.Set("pendingAsync", Napi::Number::New(env, static_cast<double>(worker_.pending())));
    return out;
  }

  static constexpr int64_t kReportStep = 1 << 20;
  static constexpr uint32_t kCheckEvery = 256;   // ops between looks at the sentinel
  static constexpr uint64_t kGrace = 4096;        // handles made before condemned ones are freed
  static constexpr int64_t kTrimBytes = int64_t{64} << 20;
  // Weak references to the JS objects of adopted handles, by slot. Not deleted at teardown:
  // the instance data may be finalized after Node has finalized references, so what is left
  // stays with the ending environment (one small allocation per live adopted tensor).
  std::vector<napi_ref> weak_;
  size_t weakCount_ = 0;
  std::vector<double> condemned_;
  uint64_t condemnedAt_ = 0;
  uint32_t sinceCheck_ = 0;
  napi_ref sentinel_ = nullptr;
  TensorTable table_;
  Worker worker_;
  OpenBlas blas_;
  std::vector<std::unique_ptr<c10::InferenceMode>> inference_;
  std::unordered_set<std::string> warned_;
  int64_t reported_ = 0;
};

}  // namespace
}  // namespace tn

using TransformerNativeAddon = tn::Addon;
NODE_API_ADDON(TransformerNativeAddon)
