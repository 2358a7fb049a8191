#include "binding/errors.h"

#include <c10/util/Exception.h>
#include <c10/util/Logging.h>

#include <cstring>
#include <utility>
#include <torch/csrc/api/include/torch/version.h>

namespace tn {

// C++ type names in libtorch's messages ("value cannot be converted to type at::BFloat16
// without overflow") become the dtype names users write.
static std::string readableTypeNames(std::string msg) {
  static const std::pair<const char*, const char*> kNames[] = {
      {"c10::BFloat16", "bfloat16"}, {"at::BFloat16", "bfloat16"}, {"c10::Half", "float16"}, {"at::Half", "float16"},
      {"c10::complex<float>", "complex64"}, {"c10::complex<double>", "complex128"},
  };
  for (const auto& [from, to] : kNames)
    for (size_t pos; (pos = msg.find(from)) != std::string::npos;) msg.replace(pos, std::strlen(from), to);
  static const std::pair<const char*, const char*> kCTypes[] = {
      {"int8_t", "int8"}, {"uint8_t", "uint8"}, {"int16_t", "int16"}, {"short", "int16"}, {"int", "int32"},
      {"int32_t", "int32"}, {"int64_t", "int64"}, {"long", "int64"}, {"float", "float32"}, {"double", "float64"},
      {"bool", "bool"}, {"signed char", "int8"}, {"unsigned char", "uint8"},
  };
  const std::string open = "converted to type ", close = " without overflow";
  const auto a = msg.find(open);
  const auto b = a == std::string::npos ? a : msg.find(close, a + open.size());
  if (b != std::string::npos) {
    const std::string type = msg.substr(a + open.size(), b - a - open.size());
    for (const auto& [from, to] : kCTypes)
      if (type == from) msg.replace(a + open.size(), type.size(), to);
  }
  return msg;
}

// libtorch appends "Exception raised from <function> at <file>:<line>" and, in debug
// builds, a backtrace. Users need the first part only.
static std::string cleanTorchMessage(const c10::Error& e) {
  std::string msg = e.what_without_backtrace();
  for (const char* marker : {"\nException raised from", "Exception raised from"}) {
    const auto pos = msg.find(marker);
    if (pos != std::string::npos) msg.erase(pos);
  }
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  // "[enforce fail at alloc_cpu.cpp:75] data. DefaultCPUAllocator: ..." -> drop the location.
  if (msg.rfind("[enforce fail at", 0) == 0) {
    const auto end = msg.find("] ");
    if (end != std::string::npos) msg.erase(0, end + 2);
  }
  return readableTypeNames(std::move(msg));
}

Failure describeCurrentException() {
  try {
    throw;
  } catch (const ArgError& e) {
    return {e.kind(), e.what()};
  } catch (const c10::IndexError& e) {
    return {ErrorKind::kRangeError, cleanTorchMessage(e)};
  } catch (const c10::TypeError& e) {
    return {ErrorKind::kTypeError, cleanTorchMessage(e)};
  } catch (const c10::Error& e) {
    std::string msg = cleanTorchMessage(e);
    if (msg.find("can't allocate memory") != std::string::npos)
      return {ErrorKind::kRangeError, "out of memory: " + msg};
    return {ErrorKind::kError, msg};
  } catch (const std::bad_alloc&) {
    return {ErrorKind::kRangeError, "out of memory: the tensor is too large for this machine"};
  } catch (const std::exception& e) {
    return {ErrorKind::kError, readableTypeNames(e.what())};  // e.g. c10's report_overflow
  } catch (...) {
    return {ErrorKind::kError, "unknown native error"};
  }
}

Napi::Error toJsError(Napi::Env env, const Failure& failure) {
  switch (failure.kind) {
    case ErrorKind::kTypeError:
      return Napi::TypeError::New(env, failure.message);
    case ErrorKind::kRangeError:
      return Napi::RangeError::New(env, failure.message);
    default:
      return Napi::Error::New(env, failure.message);
  }
}

namespace {
thread_local std::vector<std::string> queuedWarnings;

class QueueingWarningHandler : public c10::WarningHandler {
 public:
#if TORCH_VERSION_MAJOR >= 2
  void process(const c10::Warning& warning) override { queuedWarnings.push_back(warning.msg()); }
#else
  void process(const c10::SourceLocation&, const std::string& msg, const bool) override {
    queuedWarnings.push_back(msg);
  }
#endif
};
QueueingWarningHandler warningHandler;  // stateless: the queue is per thread
}  // namespace

void installWarningHandler() {
#if TORCH_VERSION_MAJOR >= 2
  c10::WarningUtils::set_warning_handler(&warningHandler);
#else
  c10::Warning::set_warning_handler(&warningHandler);
#endif
}

bool hasWarnings() { return !queuedWarnings.empty(); }

std::vector<std::string> takeWarnings() {
  std::vector<std::string> out;
  out.swap(queuedWarnings);
  return out;
}

void emitWarnings(Napi::Env env, const std::vector<std::string>& warnings, std::unordered_set<std::string>& seen) {
  Napi::Object process = env.Global().Get("process").As<Napi::Object>();
  Napi::Function emit = process.Get("emitWarning").As<Napi::Function>();
  for (const std::string& w : warnings) {
    if (!seen.insert(w).second) continue;
    emit.Call(process, {Napi::String::New(env, w), Napi::String::New(env, "TorchWarning")});
  }
}

void installQuietBacktraces() {
  c10::SetStackTraceFetcher(std::function<std::string()>([]() { return std::string(); }));
}

}  // namespace tn
