// Runs the per-tensor optimiser updates of one parameter group in parallel across tensors
// (at::parallel_for; this file is compiled with OpenMP). Inside the parallel region ATen's
// own ops run single-threaded, so a group of T tensors costs one thread-pool dispatch rather
// than ~10·T (one per in-place op), and each element still goes through exactly the same
// ops as PyTorch's single-tensor loop: results are bit-identical whatever the thread count.
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <cstdint>
#include <functional>

#include "kernels/optim/optim.h"

namespace tn {
namespace optim {

void forEachTensor(size_t n, int64_t totalNumel, const std::function<void(size_t)>& update) {
  // Below this many elements a dispatch costs more than it saves.
  constexpr int64_t kParallelNumel = 1 << 16;
  if (n < 2 || totalNumel < kParallelNumel || at::get_num_threads() < 2 || at::in_parallel_region()) {
    at::NoGradGuard noGrad;
    for (size_t i = 0; i < n; ++i) update(i);
    return;
  }
  at::parallel_for(0, static_cast<int64_t>(n), 1, [&](int64_t begin, int64_t end) {
    at::NoGradGuard noGrad;  // grad mode is thread-local: set it on every worker
    for (int64_t i = begin; i < end; ++i) update(static_cast<size_t>(i));
  });
}

}  // namespace optim
}  // namespace tn
