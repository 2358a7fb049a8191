'use strict';
// Locates libtorch the way cmake/FindLibtorch.cmake does, so the set-up scripts can tell
// (before running CMake) whether a build can succeed and what to install if not.
// Node builtins only: this runs before `npm install`.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const CONFIG = 'TorchConfig.cmake';

function isFile(p) {
  try { return fs.statSync(p).isFile(); } catch { return false; }
}

// CMake's find_package accepts either spelling of the config file.
function configDir(dir) {
  return dir && (isFile(path.join(dir, CONFIG)) || isFile(path.join(dir, 'torch-config.cmake'))) ? dir : null;
}

function which(cmd) {
  for (const d of (process.env.PATH || '').split(path.delimiter)) {
    if (!d) continue;
    const p = path.join(d, cmd);
    try { fs.accessSync(p, fs.constants.X_OK); if (fs.statSync(p).isFile()) return p; } catch { /* next */ }
  }
  return null;
}

// torch's cmake prefix from the python3 on PATH. find_spec locates the package without
// importing it (importing torch costs seconds); torch.utils.cmake_prefix_path is
// <torch package>/share/cmake, which is what we compute.
function pythonTorchPrefix() {
  const py = which('python3');
  if (!py) return null;
  const code = 'import importlib.util as u, os; s = u.find_spec("torch"); ' +
    'print(os.path.join(list(s.submodule_search_locations)[0], "share", "cmake") if s else "")';
  const r = spawnSync(py, ['-c', code], { encoding: 'utf8', timeout: 20000, stdio: ['ignore', 'pipe', 'ignore'] });
  const out = r.status === 0 ? r.stdout.trim() : '';
  return out ? { py, prefix: out } : null;
}

function systemDirs() {
  const dirs = ['/usr/lib/x86_64-linux-gnu/cmake/Torch'];
  let entries = [];
  try { entries = fs.readdirSync('/usr/lib'); } catch { /* not a usual Linux layout */ }
  for (const e of entries) dirs.push(path.join('/usr/lib', e, 'cmake/Torch'));
  dirs.push('/usr/lib/cmake/Torch', '/usr/local/lib/cmake/Torch', '/usr/local/share/cmake/Torch', '/usr/share/cmake/Torch');
  return dirs;
}

// Returns {source, cmakeDir} or null. As in CMake, an explicit LIBTORCH or Torch_DIR is
// used exclusively: if it is wrong we report nothing rather than silently pick another.
// A hit is remembered for the process (the python probe costs ~0.1 s); a miss is not, so
// a caller can look again after installing libtorch.
let found = null;
function findLibtorch() {
  if (!found) found = search();
  return found;
}

function search() {
  const env = process.env;
  if (env.LIBTORCH) {
    const d = configDir(path.join(env.LIBTORCH, 'share/cmake/Torch'));
    return d ? { source: `LIBTORCH=${env.LIBTORCH}`, cmakeDir: d } : null;
  }
  if (env.Torch_DIR) {
    const d = configDir(env.Torch_DIR);
    return d ? { source: `Torch_DIR=${env.Torch_DIR}`, cmakeDir: d } : null;
  }
  if (env.CMAKE_PREFIX_PATH) {
    for (const p of env.CMAKE_PREFIX_PATH.split(path.delimiter).filter(Boolean)) {
      for (const sub of ['Torch', 'share/cmake/Torch', 'lib/cmake/Torch', '.']) {
        const d = configDir(path.join(p, sub));
        if (d) return { source: 'CMAKE_PREFIX_PATH', cmakeDir: d };
      }
    }
    // CMake skips the python probe when CMAKE_PREFIX_PATH is set but still searches system paths.
  } else {
    const py = pythonTorchPrefix();
    const d = py && configDir(path.join(py.prefix, 'Torch'));
    if (d) return { source: `python torch (${py.py})`, cmakeDir: d };
  }
  for (const dir of systemDirs()) {
    const d = configDir(dir);
    if (d) return { source: 'system', cmakeDir: d };
  }
  return null;
}

function installHint() {
  const env = process.env;
  if (env.LIBTORCH) return `transformer-native: LIBTORCH=${env.LIBTORCH} has no share/cmake/Torch/${CONFIG}; point it at an unpacked libtorch or unset it.`;
  if (env.Torch_DIR) return `transformer-native: Torch_DIR=${env.Torch_DIR} has no ${CONFIG}; fix or unset it.`;
  return 'transformer-native: no libtorch found. Run: sudo apt-get install libtorch-dev libopenblas0-pthread  (or set LIBTORCH=/path/to/libtorch)';
}

module.exports = { findLibtorch, installHint, which };

if (require.main === module) {
  const lt = findLibtorch();
  console.log(lt ? `${lt.source} (${lt.cmakeDir})` : installHint());
  process.exitCode = lt ? 0 : 1;
}
