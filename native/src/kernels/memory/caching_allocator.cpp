// The caching CPU allocator (see caching_allocator.h for why).
//
// Blocks of kMinCached bytes and more are rounded up to a 64 KiB multiple and, when freed, kept
// in a size-ordered free list under one mutex; an allocation takes the smallest cached block
// that is at least its size and wastes at most an eighth of it. The data pointer is the block
// itself (context == data), as libtorch's default allocator does, so raw_allocate and every
// "simple data pointer" check keep working.
#include "kernels/memory/caching_allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <c10/util/Exception.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <type_traits>
#include <unordered_map>

namespace tn::memory {
namespace {

constexpr size_t kMinCached = 256 * 1024;
constexpr size_t kRound = 64 * 1024;

size_t roundUp(size_t n) { return (n + kRound - 1) / kRound * kRound; }

uint64_t defaultLimit() {
  if (const char* env = std::getenv("TN_CPU_CACHE_MB")) {
    char* end = nullptr;
    const unsigned long long mb = std::strtoull(env, &end, 10);
    if (end != env && *end == '\0') return static_cast<uint64_t>(mb) << 20;
  }
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / 4;
  return uint64_t{1} << 30;
}

// All state of the cache. Never destroyed: tensors may be freed during static destruction
// at process exit, after any static object of this library would be gone.
struct Cache {
  std::mutex mu;
  std::multimap<size_t, void*> free;     // size -> block, cached
  std::unordered_map<void*, size_t> live;  // block -> size, in a tensor
  uint64_t cached = 0, limit = 0, liveBytes = 0, hits = 0, misses = 0;

  // Frees cached blocks, largest first, until at most `keep` bytes stay. Caller holds mu.
  uint64_t trimTo(uint64_t keep) {
    uint64_t released = 0;
    while (cached > keep && !free.empty()) {
      auto it = std::prev(free.end());
      c10::free_cpu(it->second);
      cached -= it->first;
      released += it->first;
      free.erase(it);
    }
    return released;
  }
};

Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

std::once_flag installed;
bool isInstalled = false;

void releaseLarge(void* p) {
  if (p == nullptr) return;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.live.find(p);
  if (it == c.live.end()) {  // not ours (raw_deleter on a small block): the system's
    c10::free_cpu(p);
    return;
  }
  const size_t size = it->second;
  c.live.erase(it);
  c.liveBytes -= size;
  if (c.cached + size <= c.limit) {
    c.free.emplace(size, p);
    c.cached += size;
  } else {
    c10::free_cpu(p);
  }
}

void* allocateLarge(size_t n) {
  const size_t size = roundUp(n);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free.lower_bound(size);
    if (it != c.free.end() && it->first - size <= it->first / 8) {
      void* p = it->second;
      const size_t got = it->first;
      c.free.erase(it);
      c.cached -= got;
      c.live.emplace(p, got);
      c.liveBytes += got;
      c.hits++;
      return p;
    }
    c.misses++;
  }
  void* p = nullptr;
  try {
    p = c10::alloc_cpu(size);
  } catch (const c10::Error&) {
    // Out of memory with blocks cached: give them back and try once more.
    {
      std::lock_guard<std::mutex> lock(c.mu);
      if (c.trimTo(0) == 0) throw;
    }
    p = c10::alloc_cpu(size);
  }
  std::lock_guard<std::mutex> lock(c.mu);
  c.live.emplace(p, size);
  c.liveBytes += size;
  return p;
}

c10::DataPtr allocateData(size_t n) {
  if (n < kMinCached) {
    void* p = c10::alloc_cpu(n);
    return {p, p, &c10::free_cpu, c10::Device(c10::DeviceType::CPU)};
  }
  void* p = allocateLarge(n);
  return {p, p, &releaseLarge, c10::Device(c10::DeviceType::CPU)};
}

// libtorch 2.3 made Allocator::allocate non-const and added a pure copy_data; the partial
// specialisation picks the right signature for the libtorch being compiled against.
constexpr bool kConstAllocate =
    std::is_same_v<decltype(&c10::Allocator::allocate), c10::DataPtr (c10::Allocator::*)(size_t) const>;

template <class Base, bool kConst>
struct CachingAllocator;

template <class Base>
struct CachingAllocator<Base, true> : Base {
  c10::DataPtr allocate(size_t n) const override { return allocateData(n); }
  c10::DeleterFnPtr raw_deleter() const override { return &releaseLarge; }
};

template <class Base>
struct CachingAllocator<Base, false> : Base {
  c10::DataPtr allocate(size_t n) override { return allocateData(n); }
  c10::DeleterFnPtr raw_deleter() const override { return &releaseLarge; }
  void copy_data(void* dest, const void* src, std::size_t count) const override { std::memcpy(dest, src, count); }
};

using Allocator = CachingAllocator<c10::Allocator, kConstAllocate>;

}  // namespace

bool installCachingCpuAllocator() {
  std::call_once(installed, [] {
    const uint64_t limit = defaultLimit();
    if (limit == 0) return;  // TN_CPU_CACHE_MB=0: libtorch's own allocator
    cache().limit = limit;
    static Allocator* alloc = new Allocator();
    // Priority above the default CPU allocator's registration (0).
    c10::SetAllocator(c10::DeviceType::CPU, alloc, 1);
    isInstalled = true;
  });
  return isInstalled;
}

CpuCacheStats cpuCacheStats() {
  CpuCacheStats s;
  if (!isInstalled) return s;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  s.installed = true;
  s.cachedBytes = c.cached;
  s.limitBytes = c.limit;
  s.liveBytes = c.liveBytes;
  s.hits = c.hits;
  s.misses = c.misses;
  return s;
}

uint64_t emptyCpuCache() {
  if (!isInstalled) return 0;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.trimTo(0);
}

void setCpuCacheLimit(uint64_t bytes) {
  if (!isInstalled) return;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.limit = bytes;
  c.trimTo(bytes);
}

}  // namespace tn::memory
