// The native worker: one thread per JS environment that runs async ops, so long model
// work never blocks the event loop and never occupies the libuv pool that fs, dns and
// crypto share. Jobs carry only C++ values; results come back to the JS thread through a
// thread-safe function that resolves the op's promise.
#pragma once
#include <napi.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

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

  /// Queues a job and returns the promise of its result (JS thread only).
  Napi::Promise submit(Napi::Env env, Job job);
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
};

}  // namespace tn
