#include "binding/worker.h"

#include <memory>

#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>

namespace tn {

struct Worker::Task {
  Job job;
  // The storages of the job's tensor arguments (the job's captures keep them alive).
  std::vector<const void*> storages;
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

static const void* storageKey(const at::Tensor& t) {
  return t.defined() && t.has_storage() ? static_cast<const void*>(t.storage().unsafeGetStorageImpl()) : nullptr;
}

Napi::Promise Worker::submit(Napi::Env env, Job job, const std::vector<at::Tensor>& inputs) {
  if (!started_) start(env);
  auto* task = new Task{std::move(job), {}, Napi::Promise::Deferred::New(env), at::GradMode::is_enabled(),
                        c10::InferenceMode::is_enabled(), at::get_num_threads()};
  for (const at::Tensor& t : inputs) {
    const void* key = storageKey(t);
    if (key != nullptr) task->storages.push_back(key);
  }
  Napi::Promise promise = task->deferred.Promise();
  if (pending_++ == 0) channel_.Ref(env);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const void* key : task->storages) ++readers_[key];
    computing_.fetch_add(1, std::memory_order_release);
    queue_.push_back(task);
  }
  wake_.notify_one();
  return promise;
}

void Worker::waitForReaders(const std::vector<at::Tensor>& tensors) {
  if (!busy()) return;
  std::vector<const void*> keys;
  for (const at::Tensor& t : tensors)
    if (const void* key = storageKey(t)) keys.push_back(key);
  if (keys.empty()) return;
  std::unique_lock<std::mutex> lock(mutex_);
  ran_.wait(lock, [&] {
    for (const void* key : keys)
      if (readers_.count(key) != 0) return false;
    return true;
  });
}

void Worker::waitIdle() {
  if (!busy()) return;
  std::unique_lock<std::mutex> lock(mutex_);
  ran_.wait(lock, [&] { return computing_.load(std::memory_order_acquire) == 0; });
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
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const void* key : task->storages) {
        auto it = readers_.find(key);
        if (it != readers_.end() && --it->second == 0) readers_.erase(it);
      }
      computing_.fetch_sub(1, std::memory_order_release);
    }
    ran_.notify_all();
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
