// Whether CPU autocast is on for the calling thread. The query moved in libtorch 2.4 (per-device
// functions); one definition for every caller (the binding's autocast ops, kernels that must
// leave autocast to libtorch's dispatcher).
#pragma once
#include <ATen/autocast_mode.h>
#include <torch/csrc/api/include/torch/version.h>

namespace tn {

inline bool autocastCpuEnabled() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return at::autocast::is_autocast_enabled(at::kCPU);
#else
  return at::autocast::is_cpu_enabled();
#endif
}

}  // namespace tn
