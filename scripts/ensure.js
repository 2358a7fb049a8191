'use strict';
// Brings a checkout to a runnable state so that `npm test` / `npm start` work as the very
// first command after `git clone`: system packages (as root), npm dependencies, the native
// addon, the TypeScript build. Every step is a cheap check when there is nothing to do.
// Usage: node scripts/ensure.js [--no-native] [--force]
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { findLibtorch, installHint, which } = require('./libtorch');

const ROOT = path.resolve(__dirname, '..');
const argv = process.argv.slice(2);
const noNative = argv.includes('--no-native');
const force = argv.includes('--force');
const r = (p) => path.join(ROOT, p);

function fail(msg) {
  console.error(`transformer-native: ${msg}`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', ...opts });
  return res.status === 0;
}

function mtime(p) {
  try { return fs.statSync(p).mtimeMs; } catch { return 0; }
}

// Newest mtime of the files under dir accepted by `keep` (0 when none).
function newest(dir, keep) {
  let st;
  try { st = fs.statSync(dir); } catch { return 0; }
  if (!st.isDirectory()) return keep(dir) ? st.mtimeMs : 0;
  let m = 0;
  for (const e of fs.readdirSync(dir)) {
    if (e === 'node_modules' || e === 'out') continue;
    m = Math.max(m, newest(path.join(dir, e), keep));
  }
  return m;
}

// a. System packages. Only libtorch and the build tools: the python3-torch oracle is
// needed only to regenerate test fixtures and is deliberately not installed here.
function ensureSystem() {
  const need = [];
  const why = [];
  const lt = findLibtorch();
  if (!lt) {
    // An explicit LIBTORCH/Torch_DIR wins over the system copy in CMake: apt cannot fix it.
    if (process.env.LIBTORCH || process.env.Torch_DIR) fail(installHint().replace(/^transformer-native: /, ''));
    need.push('libtorch-dev', 'libopenblas0-pthread');
    why.push('no libtorch found');
  } else if (lt.source === 'system' && which('dpkg-query')) {
    // Debian's libtorch calls whichever libblas.so.3 alternative is installed; without
    // OpenBLAS that can be the slow reference BLAS.
    const q = spawnSync('dpkg-query', ['-W', '-f=${Status}', 'libopenblas0-pthread'], { encoding: 'utf8' });
    if (!/install ok installed/.test(q.stdout || '')) {
      need.push('libopenblas0-pthread');
      why.push('libopenblas0-pthread missing');
    }
  }
  if (!which('cmake')) { need.push('cmake'); why.push('no cmake'); }
  if (!which('c++') && !which('g++')) { need.push('g++'); why.push('no C++ compiler'); }
  if (!which('ninja') && !which('make')) { need.push('make'); why.push('no make'); }
  if (!need.length) return;

  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && which('apt-get')) {
    console.log(`transformer-native: ${why.join(', ')}: apt-get install ${need.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    if (!run('apt-get', ['update'], { env }) ||
        !run('apt-get', ['install', '-y', '--no-install-recommends', ...need], { env })) {
      fail(`apt-get install ${need.join(' ')} failed; see the output above.`);
    }
    if (!findLibtorch()) fail('libtorch-dev was installed but no TorchConfig.cmake was found.');
    return;
  }
  if (!lt) { console.error(installHint()); process.exit(1); }
  const tools = need.filter((p) => p !== 'libopenblas0-pthread');
  if (tools.length) fail(`${why.join(', ')}. Run: sudo apt-get install ${tools.join(' ')}`);
  console.warn('transformer-native: warning: libopenblas0-pthread is not installed; libtorch may use a slow BLAS. Run: sudo apt-get install libopenblas0-pthread');
}

// b. npm dependencies (their install step also runs our own "install" script, which builds the addon).
function ensureDeps() {
  const stamp = r('node_modules/.package-lock.json');
  const missing = !fs.existsSync(r('node_modules'));
  const stale = Math.max(mtime(r('package.json')), mtime(r('package-lock.json'))) > mtime(stamp);
  if (!missing && !stale) return; // --force rebuilds our outputs, not third-party packages
  // Not `npm ci`: package-lock.json lacks the other platforms' optional packages of
  // @swc/core and @unrs/resolver, which `npm ci` rejects as out of sync. `npm install`
  // keeps the locked versions and leaves the lock file as it is.
  const verb = 'install';
  console.log(`transformer-native: npm ${verb} (${missing ? 'node_modules missing' : 'package.json or lock file changed'})`);
  const npmCli = process.env.npm_execpath;
  const args = [verb, '--no-audit', '--no-fund'];
  const env = { ...process.env };
  if (noNative) env.TN_SKIP_NATIVE_BUILD = '1';
  const ok = npmCli && /npm-cli\.js$/.test(npmCli)
    ? run(process.execPath, [npmCli, ...args], { env })
    : run('npm', args, { env });
  if (!ok) fail(`npm ${verb} failed; see the output above.`);
  // npm may write package-lock.json after its hidden lock file: record this run as current.
  const now = new Date();
  if (fs.existsSync(stamp)) fs.utimesSync(stamp, now, now);
  else fs.writeFileSync(stamp, '{}\n'); // no dependencies installed: still remember the check
}

// c. Native addon.
function ensureNative() {
  if (!require('./install').build({ force })) process.exit(1);
}

// d. TypeScript build (tsconfig.build.json absent: nothing to compile yet).
function ensureTs() {
  if (!fs.existsSync(r('tsconfig.build.json'))) return;
  const stamp = r('dist/.stamp');
  const isTs = (f) => /\.(ts|mts|cts)$/.test(f);
  let src = Math.max(...['lib', 'bench', 'examples'].map((d) => newest(r(d), isTs)));
  // package.json too: it names the entry points below.
  for (const f of fs.readdirSync(ROOT)) if (/^(tsconfig.*|package)\.json$/.test(f)) src = Math.max(src, mtime(r(f)));
  // The build's entry points, as package.json names them.
  const pkg = require(r('package.json'));
  const outs = [pkg.main || 'dist/index.js', (pkg.exports && pkg.exports['.'] && pkg.exports['.'].import) || 'dist/esm/index.mjs'];
  if (!force && outs.every((f) => fs.existsSync(r(f))) && src < mtime(stamp)) return;
  const tsc = r('node_modules/typescript/bin/tsc');
  if (!fs.existsSync(tsc)) fail('typescript is not installed (node_modules/typescript); run npm install.');
  const t0 = Date.now();
  if (!run(process.execPath, [tsc, '-p', 'tsconfig.build.json'])) fail('TypeScript build failed; see the errors above.');
  if (!fs.existsSync(r(outs[0]))) fail(`the TypeScript build did not produce ${outs[0]} (package.json "main"); check tsconfig.build.json's rootDir/outDir.`);
  if (!run(process.execPath, [r('scripts/write-esm.js')])) fail('writing dist/esm/index.mjs failed; see above.');
  // Date the stamp at the start, so sources edited during the build are rebuilt next time.
  fs.writeFileSync(stamp, '');
  fs.utimesSync(stamp, new Date(t0), new Date(t0));
  console.log(`transformer-native: compiled TypeScript to dist/ in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

if (!noNative) ensureSystem();
ensureDeps();
if (!noNative) ensureNative();
ensureTs();
