/**
 * The only place the native addon is loaded. Everything else imports {@link native}, typed
 * by {@link NativeAddon}. Loading failures end in one error that says how to fix the install.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A tensor as the addon knows it: a numeric handle into its per-environment table. */
export type Handle = number;

/** The addon's raw interface (see native/src/binding/addon.cpp). */
export interface NativeAddon {
  op(index: number, ...args: unknown[]): unknown;
  opAsync(index: number, ...args: unknown[]): Promise<unknown>;
  opNames(): string[];
  binary(code: number, a: Handle, b: Handle): Handle;
  binaryScalar(code: number, a: Handle, b: number | boolean, reversed: boolean): Handle;
  binaryInplace(code: number, a: Handle, b: Handle): void;
  binaryScalarInplace(code: number, a: Handle, b: number | boolean): void;
  unary(code: number, a: Handle): Handle;
  elementwiseNames(): { binary: string[]; unary: string[] };
  free(id: Handle): boolean;
  fromData(
    data: ArrayBufferView | ArrayBuffer,
    srcDtype: number,
    shape: number[],
    dstDtype: number,
    device: string | null,
    requiresGrad: boolean,
  ): Handle;
  toArrayBuffer(id: Handle, zeroCopy: boolean): ArrayBuffer;
  item(id: Handle): number | boolean;
  mapSafetensors(path: string, dataOffset: number, entries: [number, number[], number, number][]): Handle[];
  config(): NativeConfig;
  setNumThreads(intraOp: number, blas?: number): void;
  getNumThreads(): number;
  setGradEnabled(enabled: boolean): boolean;
  isGradEnabled(): boolean;
  pushInferenceMode(enabled: boolean): void;
  popInferenceMode(): void;
  isInferenceMode(): boolean;
  memory(): { liveTensors: number; bytes: number; pendingAsync: number };
  /** Weak references to tensors outside tidy scopes, so a synchronous loop frees the collected ones. */
  adopt(tensors: object[]): void;
  /** Frees the handles whose objects V8 has collected (called from an idle timer). */
  sweep(): void;
}

/** What the addon reports about the libtorch it runs on. */
export interface NativeConfig {
  torchVersion: string;
  /** How the build found libtorch: 'LIBTORCH=...', 'Torch_DIR=...', 'python torch (...)' or 'system'. */
  libtorchSource?: string;
  /** The CMake directory of the libtorch the addon was built against. */
  libtorchDir?: string;
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  builtWithCuda: boolean;
  numThreads: number;
  numInteropThreads: number;
  blasThreads: number;
  blas: string;
  /** The gemm float32 CPU linear layers run on: 'oneDNN' (its sgemm, when libtorch loaded it) or 'libtorch'. */
  linearGemm: 'oneDNN' | 'libtorch';
  parallelInfo: string;
  buildConfig: string;
}

const ADDON_NAME = 'transformer_native.node';

function candidates(): string[] {
  const root = path.resolve(__dirname, '..', '..');
  const env = process.env.TRANSFORMER_NATIVE_ADDON;
  return [
    ...(env ? [env] : []),
    path.join(root, 'build', 'Release', ADDON_NAME),
    path.join(__dirname, '..', 'build', 'Release', ADDON_NAME), // running from source (lib/, e.g. under jest)
    path.join(root, 'build', 'Debug', ADDON_NAME),
  ];
}

function load(): NativeAddon {
  // Spinning OpenMP workers collapse on small shared VMs; libgomp reads this when it loads,
  // which happens inside the require below.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  // OpenBLAS's workers busy-wait ~0.1 s after each call (THREAD_TIMEOUT 28, i.e. 2^28
  // cycles) and take the second core from libtorch's OpenMP threads on small machines;
  // 2^4 cycles makes them sleep at once, with no loss of sgemm speed measured here.
  process.env.OPENBLAS_THREAD_TIMEOUT ??= '4';
  const reasons: string[] = [];
  for (const file of candidates()) {
    if (!fs.existsSync(file)) continue;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(file) as NativeAddon;
    } catch (err) {
      reasons.push(`${file}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (reasons.length === 0) reasons.push('the native addon has not been built');
  // Installed as someone's dependency, or working in this repository?
  const asDependency = __dirname.split(path.sep).includes('node_modules');
  throw new Error(
    [
      'transformer-native could not load its native addon.',
      ...reasons.map((r) => `  - ${r}`),
      'Possible solutions:',
      ...(asDependency
        ? [
            '  - Build it: npm rebuild transformer-native (needs libtorch: sudo apt-get install libtorch-dev libopenblas0-pthread, or LIBTORCH=/path/to/libtorch)',
            '  - If npm skipped its install script (npm 11 asks before running dependencies\' scripts): npm install-scripts approve transformer-native && npm rebuild transformer-native',
          ]
        : ['  - Build it: npm run build:native (needs libtorch: sudo apt-get install libtorch-dev libopenblas0-pthread, or LIBTORCH=/path/to/libtorch)']),
      '  - If libtorch was upgraded or moved since the build, rebuild the same way',
      `  - Platform: ${os.platform()}-${os.arch()}, Node ${process.version}`,
    ].join('\n'),
  );
}

/** The loaded addon. */
export const native: NativeAddon = load();

const opIndex = new Map<string, number>(native.opNames().map((name, i) => [name, i]));

/** The op-table index of a native op, by name (resolved once per op at module load). */
export function opId(name: string): number {
  const index = opIndex.get(name);
  if (index === undefined) throw new Error(`transformer-native: the native addon has no op '${name}'; rebuild it (npm run build:native)`);
  return index;
}

const names = native.elementwiseNames();
/** Codes of the elementwise fast-path ops, by name. */
export const BINARY: Readonly<Record<string, number>> = Object.fromEntries(names.binary.map((n, i) => [n, i]));
/** Codes of the unary fast-path ops, by name. */
export const UNARY: Readonly<Record<string, number>> = Object.fromEntries(names.unary.map((n, i) => [n, i]));
