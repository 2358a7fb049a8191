#!/usr/bin/env node
// Compiles every native source with -fsyntax-only against another libtorch's headers, to
// check that version guards hold (e.g. an official libtorch 2.x, or the torch/ folder of a
// PyPI wheel) without configuring a full build (a CUDA libtorch's CMake config wants nvcc).
//   node scripts/check-headers.js /path/to/libtorch     (folder that holds include/)
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const torch = process.argv[2];
if (!torch || !fs.existsSync(path.join(torch, 'include', 'ATen'))) {
  console.error('usage: node scripts/check-headers.js /path/to/libtorch   (a folder with include/ATen)');
  process.exit(2);
}
const napi = require('node-addon-api').include_dir.replace(/"/g, '');
const headers = path.join(path.dirname(require.resolve('node-api-headers/package.json')), 'include');
const sources = [];
(function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (p.endsWith('.cpp')) sources.push(p);
  }
})(path.join(root, 'native', 'src'));

let failed = 0;
for (const src of sources) {
  const r = spawnSync('c++', ['-std=c++17', '-fsyntax-only', '-fopenmp', '-DNAPI_VERSION=8', '-DNODE_ADDON_API_CPP_EXCEPTIONS',
    '-DNODE_ADDON_API_CPP_EXCEPTIONS_ALL', `-I${path.join(torch, 'include')}`, `-I${path.join(torch, 'include', 'torch', 'csrc', 'api', 'include')}`,
    `-I${headers}`, `-I${napi}`, `-I${path.join(root, 'native', 'src')}`, '-include', path.join(root, 'native', 'src', 'pch.h'), src], { encoding: 'utf8' });
  const rel = path.relative(root, src);
  if (r.status === 0) console.log(`ok   ${rel}`);
  else {
    failed++;
    console.log(`FAIL ${rel}\n${r.stderr.split('\n').filter((l) => l.includes('error')).slice(0, 5).join('\n')}`);
  }
}
const text = fs.readFileSync(path.join(torch, 'include', 'torch', 'csrc', 'api', 'include', 'torch', 'version.h'), 'utf8');
const part = (name) => (text.match(new RegExp(`TORCH_VERSION_${name} (\\d+)`)) || [])[1] || '?';
console.log(`${sources.length - failed}/${sources.length} sources compile against libtorch ${part('MAJOR')}.${part('MINOR')}.${part('PATCH')} headers`);
process.exit(failed ? 1 : 0);
