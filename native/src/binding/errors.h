// Error translation: C++ exceptions (c10::Error from libtorch, ArgError from argument
// decoding) become JS errors of the right class with a message a user can act on, and
// never carry a C++ backtrace.
#pragma once
#include <napi.h>

#include <exception>
#include <stdexcept>
#include <string>

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
