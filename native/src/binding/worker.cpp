#include "binding/worker.h"

#include <memory>

#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>

namespace tn {

struct Worker::Task {
  Job job;
  Napi::Promise::Deferred deferred;
  // Grad mode, inference mode and the thread count are thread-local in libtorch: the
  // caller's settings travel with the job.
  bool gradEnabled;
  bool inferenceMode;
  int numThreads;
  Value result;
  std::vector<std::string> warnings;
  bool failed = false;
  Failure failure;
};

Worker::~Worker() { shutdown(); }

void Worker::start(Napi::Env env) {
  channel_ = Channel::New(env, "transformer-native worker", 0, 1, this);
  channel_.Unref(env);  // an idle worker must not keep the process alive
  thread_ = std::thread([this] { loop(); });
  started_ = true;
}

Napi::Promise Worker::submit(Napi::Env env, Job job) {
  if (!started_) start(env);
  auto* task = new Task{std::move(job), Napi::Promise::Deferred::New(env), at::GradMode::is_enabled(),
                        c10::InferenceMode::is_enabled(), at::get_num_threads()};
  Napi::Promise promise = task->deferred.Promise();
  if (pending_++ == 0) channel_.Ref(env);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(task);
  }
  wake_.notify_one();
  return promise;
}

void Worker::loop() {
  int threads = -1;
  installWarningHandler();
  for (;;) {
    Task* task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      task = queue_.front();
      queue_.pop_front();
    }
    if (task->numThreads != threads) {
      at::set_num_threads(task->numThreads);
      threads = task->numThreads;
    }
    try {
      c10::InferenceMode inference(task->inferenceMode);
      c10::AutoGradMode grad(task->gradEnabled && !task->inferenceMode);
      task->result = task->job();
    } catch (...) {
      task->failed = true;
      task->failure = describeCurrentException();
    }
    task->job = nullptr;  // drop captured tensors on this thread, now
    task->warnings = takeWarnings();
    if (channel_.BlockingCall(task) != napi_ok) delete task;
  }
}

void Worker::settle(Napi::Env env, Napi::Function, Worker* self, Task* task) {
  std::unique_ptr<Task> owned(task);
  if (env == nullptr) return;
  // A terminating worker_threads environment refuses to run JS: every N-API call below may
  // then fail, and node-addon-api turns failures into C++ exceptions. None may escape this
  // callback (that would be std::terminate), and there is nobody left to tell.
  try {
    if (--self->pending_ == 0) self->channel_.Unref(env);
    Napi::HandleScope scope(env);
    if (!task->warnings.empty()) emitWarnings(env, task->warnings, self->warned_);
    if (task->failed) {
      task->deferred.Reject(toJsError(env, task->failure).Value());
    } else {
      try {
        task->deferred.Resolve(toJs(env, self->table_, std::move(task->result)));
      } catch (const Napi::Error& e) {
        task->deferred.Reject(e.Value());
      }
    }
  } catch (...) {
  }
}

void Worker::shutdown() {
  if (!started_) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  channel_.Release();
  started_ = false;
}

}  // namespace tn
