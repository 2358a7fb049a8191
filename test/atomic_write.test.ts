/**
 * io/atomic_write: the target is replaced in one step or not at all; failures remove the
 * temporary file and say what failed; temporaries of dead processes are cleaned up, those of
 * running ones kept; permission bits and symbolic links are respected.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { removeStaleTemporaries, writeFileAtomic, writeFileAtomicWith } from '../lib/io/atomic_write';
import { expectThrows } from './helpers';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tn-atomic-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('creates and replaces a file, leaving nothing else in the folder', () => {
  const f = path.join(dir, 'a.json');
  writeFileAtomic(f, '{"v":1}');
  writeFileAtomic(f, new Uint8Array([123, 125]));
  expect(fs.readFileSync(f, 'utf8')).toBe('{}');
  expect(fs.readdirSync(dir)).toEqual(['a.json']);
});

test('streams pieces and counts them', () => {
  const f = path.join(dir, 'b.bin');
  let count = -1;
  writeFileAtomicWith(f, (sink) => {
    sink.write('ab');
    sink.write(Buffer.alloc(3, 1));
    sink.write('é');
    count = sink.bytesWritten;
  });
  expect(count).toBe(7);
  expect(fs.readFileSync(f)).toEqual(Buffer.from([97, 98, 1, 1, 1, 0xc3, 0xa9]));
});

test('an error while filling leaves the old file and no temporary; the error is rethrown unchanged', () => {
  const f = path.join(dir, 'c.txt');
  writeFileAtomic(f, 'old');
  const boom = new TypeError('boom');
  expect(() =>
    writeFileAtomicWith(f, (sink) => {
      sink.write('partial new contents');
      throw boom;
    }),
  ).toThrow(boom);
  expect(fs.readFileSync(f, 'utf8')).toBe('old');
  expect(fs.readdirSync(dir)).toEqual(['c.txt']);
});

test('fs errors name the call and the target, keep the code, and say the old file is unchanged', () => {
  const e = expectThrows(() => writeFileAtomic(path.join(dir, 'no', 'such', 'x.json'), '{}', 'CharTokenizer.save'), 'Error', /^CharTokenizer\.save: cannot write .*x\.json: ENOENT.*\(does the folder exist\?\); any previous file at that path is unchanged/);
  expect((e as NodeJS.ErrnoException).code).toBe('ENOENT');
  fs.mkdirSync(path.join(dir, 'folder'));
  expectThrows(() => writeFileAtomic(path.join(dir, 'folder'), 'x', 'saveSafetensors'), 'Error', /saveSafetensors: cannot write .*folder: EISDIR.*a folder has that name/);
  expect(fs.readdirSync(dir)).toEqual(['folder']);
});

test('a read-only folder gives a clear error and leaves nothing', () => {
  if (process.getuid?.() === 0 || process.platform === 'win32') return; // root writes anyway
  const ro = path.join(dir, 'ro');
  fs.mkdirSync(ro);
  fs.writeFileSync(path.join(ro, 'f'), 'old');
  fs.chmodSync(ro, 0o555);
  try {
    expectThrows(() => writeFileAtomic(path.join(ro, 'f'), 'new'), 'Error', /EACCES.*no permission/);
    expect(fs.readFileSync(path.join(ro, 'f'), 'utf8')).toBe('old');
  } finally {
    fs.chmodSync(ro, 0o755);
  }
});

test('keeps the permission bits of the file it replaces', () => {
  if (process.platform === 'win32') return;
  const f = path.join(dir, 'm');
  fs.writeFileSync(f, 'x');
  fs.chmodSync(f, 0o640);
  writeFileAtomic(f, 'y');
  expect(fs.statSync(f).mode & 0o777).toBe(0o640);
});

test('replaces the file a symbolic link points to, keeping the link', () => {
  const real = path.join(dir, 'real.txt');
  const link = path.join(dir, 'link.txt');
  fs.writeFileSync(real, 'old');
  fs.symlinkSync(real, link);
  writeFileAtomic(link, 'new');
  expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
  expect(fs.readFileSync(real, 'utf8')).toBe('new');
});

test('a reader holding the old file open keeps reading the old contents', () => {
  const f = path.join(dir, 'held');
  writeFileAtomic(f, 'old contents');
  const fd = fs.openSync(f, 'r');
  try {
    writeFileAtomic(f, 'x');
    const buf = Buffer.alloc(12);
    fs.readSync(fd, buf, 0, 12, 0);
    expect(buf.toString()).toBe('old contents');
  } finally {
    fs.closeSync(fd);
  }
  expect(fs.readFileSync(f, 'utf8')).toBe('x');
});

test('temporaries of dead processes are removed by the next save; those of running ones are kept', () => {
  const f = path.join(dir, 'model.safetensors');
  const dead = path.join(dir, `.model.safetensors.tmp-${deadPid()}-0123456789ab`);
  const alive = path.join(dir, `.model.safetensors.tmp-${process.ppid}-0123456789ab`);
  const other = path.join(dir, `.other.safetensors.tmp-${deadPid()}-0123456789ab`);
  for (const p of [dead, alive, other]) fs.writeFileSync(p, 'partial');
  removeStaleTemporaries(f);
  expect(fs.existsSync(dead)).toBe(false);
  expect(fs.existsSync(alive)).toBe(true);
  expect(fs.existsSync(other)).toBe(true); // another target's
  fs.writeFileSync(dead, 'partial');
  writeFileAtomic(f, 'x');
  expect(fs.readdirSync(dir).sort()).toEqual([path.basename(alive), path.basename(other), 'model.safetensors'].sort());
});
