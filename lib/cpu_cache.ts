/**
 * The caching CPU allocator: large tensor buffers (256 KiB and more) are kept when freed and
 * handed out again, so a training step or a batch does not get fresh pages from the kernel each
 * time (the kernel zeroes every new page on first touch: 10–20% of a Swin-T training step,
 * measured with perf, in Python as well). As PyTorch's CUDA caching allocator, for the CPU.
 *
 * The cache is bounded: `TN_CPU_CACHE_MB` in the environment (read when the addon loads;
 * default a quarter of physical memory; `0` keeps libtorch's own allocator), or
 * {@link setCpuCacheLimit} at run time. A freed block that does not fit under the bound goes
 * back to the system. {@link emptyCache} gives every cached block back, as
 * `torch.cuda.empty_cache()` does.
 *
 * @example
 * tn.cpuCacheInfo();          // { enabled: true, cachedBytes: 1183252480, hits: 1055, … }
 * tn.emptyCache();            // RSS falls back after a large job
 * tn.setCpuCacheLimit(512 * 2 ** 20);
 */
import { opId } from './binding';
import { callV } from './ops/call';
import { checkInt } from './errors';

const OP = { stats: opId('cpuCacheStats'), empty: opId('emptyCache'), limit: opId('setCpuCacheLimit') };

/** Counters of the caching CPU allocator (see {@link cpuCacheInfo}). */
export interface CpuCacheInfo {
  /** false when `TN_CPU_CACHE_MB=0` left libtorch's own allocator in place (all counters 0). */
  enabled: boolean;
  /** Bytes of freed blocks held for reuse. */
  cachedBytes: number;
  /** The bound on `cachedBytes`. */
  limitBytes: number;
  /** Bytes of large blocks (≥ 256 KiB) now in tensors. */
  liveBytes: number;
  /** Large allocations served from the cache. */
  hits: number;
  /** Large allocations that went to the system. */
  misses: number;
}

/** Reports the caching CPU allocator's counters. */
export function cpuCacheInfo(): CpuCacheInfo {
  const [enabled, cachedBytes, limitBytes, liveBytes, hits, misses] = callV<number[]>(OP.stats);
  return { enabled: enabled === 1, cachedBytes, limitBytes, liveBytes, hits, misses };
}

/**
 * Gives every cached CPU block back to the system (tensors in use are untouched); returns the
 * bytes released. For a long-lived process after a one-off large job.
 */
export function emptyCache(): number {
  return callV<number>(OP.empty);
}

/**
 * Sets the bound on cached bytes; blocks beyond it are released at once. `0` stops caching
 * (every freed block goes back to the system). No effect when the cache is not enabled.
 */
export function setCpuCacheLimit(bytes: number): void {
  callV(OP.limit, checkInt('setCpuCacheLimit: bytes', bytes, 0));
}
