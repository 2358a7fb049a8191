'use strict';
// npm run test:asan: builds the addon with AddressSanitizer and UndefinedBehaviorSanitizer
// into build-asan/ (beside the normal build, which it leaves alone) and runs the native-heavy
// test suites against it. Node itself is not instrumented: libasan is preloaded, leaks are
// not reported (V8 and libtorch keep allocations until exit by design), and every
// sanitizer report aborts the test process, which fails its suite.
// Usage: node scripts/test-asan.js [jest args...]   (default: the suites below)
const fs = require('fs');
const path = require('path');
const { spawnSync, execFileSync } = require('child_process');
const { findLibtorch, installHint } = require('./libtorch');

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'build-asan');
const ADDON = path.join(OUT, 'Release', 'transformer_native.node');
const SUITES = [
  'test/async.test.ts', 'test/async_aliasing.test.ts', 'test/crash_safety.test.ts', 'test/workers.test.ts',
  'test/fuzz.test.ts', 'test/memory.test.ts', 'test/errors.test.ts', 'test/dtypes.test.ts', 'test/ops.test.ts',
  'test/autograd.test.ts', 'test/grad.test.ts', 'test/cpu_cache.test.ts', 'test/linear.test.ts',
  'test/attention.test.ts', 'test/swin_ops.test.ts', 'test/txl_ops.test.ts', 'test/optim.test.ts',
  'test/safetensors.test.ts', 'test/safetensors_hostile.test.ts', 'test/crash_save.test.ts',
].filter((f) => fs.existsSync(path.join(ROOT, f)));

function runtime(name) {
  const p = execFileSync('g++', [`-print-file-name=${name}`], { encoding: 'utf8' }).trim();
  if (!path.isAbsolute(p) || !fs.existsSync(p)) throw new Error(`test:asan: ${name} not found (g++ -print-file-name); install the compiler's sanitizer runtime (Debian: libasan8 libubsan1)`);
  return p;
}

const lt = findLibtorch();
if (!lt) {
  console.error(installHint());
  process.exit(1);
}
const t0 = Date.now();
const build = spawnSync(process.execPath, [require.resolve('cmake-js/bin/cmake-js'), 'compile', '--directory', ROOT, '--out', OUT,
  '--parallel', process.env.CMAKE_BUILD_PARALLEL_LEVEL || '2', '--CDTN_SANITIZE=ON'], { cwd: ROOT, stdio: 'inherit' });
if (build.status !== 0 || !fs.existsSync(ADDON)) {
  console.error('test:asan: the sanitizer build failed; see the output above.');
  process.exit(1);
}
console.log(`test:asan: built ${path.relative(ROOT, ADDON)} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

// dist/ serves the child-process and worker tests: bring it up to date as npm test would.
spawnSync(process.execPath, [path.join(__dirname, 'ensure.js'), '--no-native'], { cwd: ROOT, stdio: 'inherit' });

const env = {
  ...process.env,
  TRANSFORMER_NATIVE_ADDON: ADDON,
  LD_PRELOAD: [runtime('libasan.so'), runtime('libubsan.so')].join(' '),
  ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1:allocator_may_return_null=1:handle_segv=1:detect_odr_violation=0',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
  TN_TERMINATIONS: process.env.TN_TERMINATIONS || '60',
  TN_SANITIZED: '1', // RSS bounds do not hold under ASan's quarantine; tests skip just those
};
const args = process.argv.slice(2);
const t1 = Date.now();
const r = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), '--testTimeout', '600000', ...(args.length ? args : SUITES)],
  { cwd: ROOT, stdio: 'inherit', env });
console.log(`test:asan: suites ran in ${((Date.now() - t1) / 1000).toFixed(0)} s under the sanitizers`);
process.exit(r.status === null ? 1 : r.status);
