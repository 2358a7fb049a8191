// Error translation: C++ exceptions (c10::Error from libtorch, ArgError from argument
// decoding) become JS errors of the right class with a message a user can act on, and
// never carry a C++ backtrace.
#pragma once
#include <napi.h>

#include <exception>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

namespace tn {

enum class ErrorKind { kError, kTypeError, kRangeError };

/// A user error found while decoding arguments: cheap to throw (no backtrace).
class ArgError : public std::runtime_error {
 public:
  ArgError(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

/// A failure described in plain data, safe to carry across threads.
struct Failure {
  ErrorKind kind = ErrorKind::kError;
  std::string message;
};

/// Describes the exception currently being handled (call inside a catch block).
Failure describeCurrentException();

/// Builds the JS error object for a failure.
Napi::Error toJsError(Napi::Env env, const Failure& failure);

/// Stops libtorch from capturing a C++ backtrace for every c10::Error: capturing it costs
/// ~13 ms a throw on this machine, and the backtrace is never shown to users anyway.
void installQuietBacktraces();

/// Routes libtorch warnings (TORCH_WARN) on the calling thread into a queue instead of
/// glog's stderr banner; call once per thread that runs ops.
void installWarningHandler();
/// True when warnings are queued on this thread (cheap: checked after every op).
bool hasWarnings();
/// Takes this thread's queued warnings.
std::vector<std::string> takeWarnings();
/// Emits warnings as `process.emitWarning(msg, 'TorchWarning')`, each distinct message once
/// per environment (as Python shows a UserWarning once per place).
void emitWarnings(Napi::Env env, const std::vector<std::string>& warnings, std::unordered_set<std::string>& seen);

/// Runs `body`, turning any C++ exception into a thrown JS error.
template <typename F>
Napi::Value guarded(Napi::Env env, F&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw toJsError(env, describeCurrentException());
  }
}

}  // namespace tn
