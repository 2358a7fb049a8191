// Ops over the caching CPU allocator (kernels/memory): its counters, emptying it, its bound.
#include "binding/ops.h"
#include "kernels/memory/caching_allocator.h"

namespace tn {
namespace {

// cpuCacheStats() -> [installed, cachedBytes, limitBytes, liveBytes, hits, misses]
TN_OP(cpuCacheStats) {
  (void)A;
  TN_RUN([] {
    const auto s = memory::cpuCacheStats();
    return std::vector<int64_t>{s.installed ? 1 : 0, static_cast<int64_t>(s.cachedBytes), static_cast<int64_t>(s.limitBytes),
                                static_cast<int64_t>(s.liveBytes), static_cast<int64_t>(s.hits), static_cast<int64_t>(s.misses)};
  }());
}

// emptyCache() -> bytes released
TN_OP(emptyCache) {
  (void)A;
  TN_RUN(static_cast<int64_t>(memory::emptyCpuCache()));
}

// setCpuCacheLimit(bytes)
TN_OP(setCpuCacheLimit) {
  const int64_t bytes = A.i64(0);
  TORCH_CHECK(bytes >= 0, "setCpuCacheLimit: expected a number of bytes >= 0, but got ", bytes);
  TN_RUN((memory::setCpuCacheLimit(static_cast<uint64_t>(bytes)), std::monostate{}));
}

}  // namespace

void registerMemoryOps(std::vector<OpDef>& ops) {
  TN_REG(ops, cpuCacheStats); TN_REG(ops, emptyCache); TN_REG(ops, setCpuCacheLimit);
}

}  // namespace tn
