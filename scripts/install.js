'use strict';
// npm "install" lifecycle script: builds the native addon from source against the libtorch
// found on this machine (nothing is downloaded). Also used by scripts/ensure.js.
// Usage: node scripts/install.js [--force]
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { findLibtorch, installHint, which } = require('./libtorch');

const ROOT = path.resolve(__dirname, '..');
const BUILD = path.join(ROOT, 'build');
const ADDON = path.join(BUILD, 'Release/transformer_native.node');
const INPUTS = ['native/src', 'CMakeLists.txt', 'cmake'].map((p) => path.join(ROOT, p));

function newestMtime(p) {
  let st;
  try { st = fs.statSync(p); } catch { return 0; }
  if (!st.isDirectory()) return st.mtimeMs;
  let m = 0;
  for (const e of fs.readdirSync(p)) m = Math.max(m, newestMtime(path.join(p, e)));
  return m;
}

// Which libtorch the addon was built against: switching libtorch needs a clean build,
// because TorchConfig.cmake caches library paths in CMakeCache.txt.
const TORCH_STAMP = path.join(BUILD, 'libtorch.txt');
function builtAgainst() {
  try { return fs.readFileSync(TORCH_STAMP, 'utf8').trim(); } catch { return null; }
}

function upToDate(lt = findLibtorch()) {
  let built;
  try { built = fs.statSync(ADDON).mtimeMs; } catch { return false; }
  return !!lt && builtAgainst() === lt.cmakeDir && INPUTS.every((p) => newestMtime(p) < built);
}

// An installed copy (a dependency in node_modules: npm never ships .git) keeps only the addon
// and the libtorch stamp that upToDate() reads; cmake's tree (~135 MB of objects) is dropped.
// A developer's checkout keeps it for incremental builds. A later build from a trimmed
// directory configures from scratch: cmake-js runs cmake when CMakeCache.txt is missing.
function trimBuild() {
  if (fs.existsSync(path.join(ROOT, '.git'))) return;
  const keep = [ADDON, TORCH_STAMP];
  const prune = (dir) => {
    for (const e of fs.readdirSync(dir)) {
      const p = path.join(dir, e);
      if (keep.includes(p)) continue;
      if (keep.some((k) => k.startsWith(p + path.sep))) prune(p);
      else fs.rmSync(p, { recursive: true, force: true });
    }
  };
  prune(BUILD);
}

// Returns true when the addon is usable afterwards; prints why not otherwise.
function build({ force = false } = {}) {
  const lt = findLibtorch();
  if (!lt) { console.error(installHint()); return false; }
  if (!force && upToDate(lt)) return true;
  const prev = builtAgainst();
  const clean = prev !== null && prev !== lt.cmakeDir;
  if (clean) console.log(`transformer-native: libtorch changed (${prev} -> ${lt.cmakeDir}): clean rebuild`);
  if (!which('cmake')) { console.error('transformer-native: cmake >= 3.18 not found. Run: sudo apt-get install cmake'); return false; }

  // Every translation unit includes the heavy ATen headers: keep the default parallelism
  // low so that small machines and CI runners do not run out of memory.
  const jobs = process.env.CMAKE_BUILD_PARALLEL_LEVEL || '2';
  const args = [require.resolve('cmake-js/bin/cmake-js'), clean ? 'rebuild' : 'compile', '--directory', ROOT, '--parallel', jobs];
  if (which('ccache')) args.push('--CDCMAKE_CXX_COMPILER_LAUNCHER=ccache');
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit', env: process.env });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.status !== 0 || !fs.existsSync(ADDON)) {
    console.error(`transformer-native: native build failed after ${secs} s (libtorch from ${lt.source}); see the cmake-js output above.`);
    return false;
  }
  // ninja leaves the addon untouched when e.g. only cmake/ changed: date it to the build start
  // so it counts as up to date, while sources edited during the build still look newer.
  fs.utimesSync(ADDON, new Date(t0), new Date(t0));
  fs.writeFileSync(TORCH_STAMP, lt.cmakeDir + '\n');
  trimBuild();
  console.log(`transformer-native: built ${path.relative(ROOT, ADDON)} against libtorch from ${lt.source} in ${secs} s`);
  return true;
}

module.exports = { build, upToDate, ADDON };

if (require.main === module) {
  // ensure.js --no-native sets this so that `npm install` does not build the addon.
  if (process.env.TN_SKIP_NATIVE_BUILD === '1') process.exit(0);
  // `npm rebuild transformer-native` is an explicit request: build even when the addon looks
  // current (e.g. libtorch was upgraded in place, at the same path).
  const force = process.argv.includes('--force') || process.env.npm_command === 'rebuild';
  process.exit(build({ force }) ? 0 : 1);
}
