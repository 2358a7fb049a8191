/**
 * Runtime information and threads.
 *
 * Threads default to the number of cores Node reports (`os.availableParallelism()`), for
 * both libtorch's intra-op pool and OpenBLAS's, unless `TN_NUM_THREADS` is set. OpenMP
 * workers wait passively (`OMP_WAIT_POLICY=PASSIVE`, set at load unless you set it), since
 * spinning workers collapse on small shared VMs.
 */
import * as os from 'node:os';

import { NativeConfig, native } from './binding';
import { checkInt } from './errors';

/** What {@link config} reports. */
export interface Config extends NativeConfig {
  /** OMP_WAIT_POLICY in effect (set to PASSIVE at load unless you set it). */
  ompWaitPolicy: string | undefined;
}

/** Torch version, CUDA availability, threads and BLAS of the loaded libtorch. */
export function config(): Config {
  return { ...native.config(), ompWaitPolicy: process.env.OMP_WAIT_POLICY };
}

/**
 * Sets libtorch's intra-op threads and, unless given separately, OpenBLAS's pool too
 * (as `torch.set_num_threads`, which leaves OpenBLAS alone: set both for like-for-like runs).
 */
export function setNumThreads(n: number, blasThreads: number = n): void {
  checkInt('setNumThreads', n, 1, 1024);
  checkInt('setNumThreads: blasThreads', blasThreads, 1, 1024);
  native.setNumThreads(n, blasThreads);
}

/** libtorch's intra-op thread count. */
export function getNumThreads(): number {
  return native.getNumThreads();
}

/** CUDA queries, as torch.cuda. */
export const cuda = {
  /** Whether libtorch was built with CUDA and a GPU is visible. */
  isAvailable: (): boolean => native.config().cudaAvailable,
  /** Number of visible GPUs. */
  deviceCount: (): number => native.config().cudaDeviceCount,
};

function defaultThreads(): number {
  const env = process.env.TN_NUM_THREADS;
  if (env !== undefined && /^\d+$/.test(env) && Number(env) >= 1) return Number(env);
  return Math.max(1, os.availableParallelism());
}

native.setNumThreads(defaultThreads(), defaultThreads());
