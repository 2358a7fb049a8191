// The native worker: one thread per JS environment that runs async ops, so long model
// work never blocks the event loop and never occupies the libuv pool that fs, dns and
// crypto share. Jobs carry only C++ values; results come back to the JS thread through a
// thread-safe function that resolves the op's promise.
//
// An async op sees its inputs as they were when it was called: until its job has run, a
// synchronous in-place write from JS to any storage it reads (through any view) waits for
// it (waitForReaders). Async ops run in call order on one thread, so an async in-place op
// needs no wait: later jobs see its effect, earlier ones do not, as on a CUDA stream.
#pragma once
#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "binding/errors.h"
#include "binding/ops.h"
#include "binding/tensor_table.h"

namespace tn {

class Worker {
 public:
  explicit Worker(TensorTable& table) : table_(table) {}
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Queues a job that reads `inputs` and returns the promise of its result (JS thread only).
  Napi::Promise submit(Napi::Env env, Job job, const std::vector<at::Tensor>& inputs);
  /// Blocks until no queued or running job reads the storage of any of `tensors` (JS thread
  /// only; jobs never wait for the JS thread, so this cannot deadlock).
  void waitForReaders(const std::vector<at::Tensor>& tensors);
  /// Blocks until every queued job has run (JS thread only).
  void waitIdle();
  /// Whether any job is queued or running (a cheap check before waitForReaders).
  bool busy() const { return computing_.load(std::memory_order_acquire) != 0; }
  /// Number of async jobs not yet settled.
  size_t pending() const { return pending_; }
  /// Stops the thread after the queued jobs (called at environment teardown).
  void shutdown();

 private:
  struct Task;
  static void settle(Napi::Env env, Napi::Function, Worker* self, Task* task);
  using Channel = Napi::TypedThreadSafeFunction<Worker, Task, &Worker::settle>;
  void start(Napi::Env env);
  void loop();

  TensorTable& table_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task*> queue_;
  bool stopping_ = false;
  bool started_ = false;
  Channel channel_;
  size_t pending_ = 0;
  std::unordered_set<std::string> warned_;
  // Storages read by jobs that have not run yet (counted per job), under mutex_.
  std::unordered_map<const void*, int> readers_;
  std::condition_variable ran_;
  std::atomic<size_t> computing_{0};
};

}  // namespace tn
