/**
 * Atomic file replacement: every file transformer-native writes goes through here, so a file
 * on disk is always either its previous complete version or its new complete version, never
 * a truncated or half-written one, whatever happens during the save (an exception, a full
 * disk, kill -9, a power cut).
 *
 * How: the bytes go to a new temporary file in the target's folder (`.<name>.tmp-<pid>-<random>`,
 * created exclusively), which is fsync'ed and then renamed over the target (rename(2) replaces
 * a file atomically), and the folder is fsync'ed so the rename itself is durable. The target
 * is never opened for writing, so it is never truncated: a process that has the old file open
 * or memory-mapped (`loadSafetensors` maps files) keeps seeing the old contents, intact.
 *
 * On an error the temporary file is removed and the error says what failed; a temporary file
 * left by a process that was killed mid-save is removed by the next save to the same target
 * (when the process that wrote it no longer runs).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where the bytes of a file being written atomically go; see {@link writeFileAtomicWith}. */
export interface AtomicSink {
  /** Appends bytes (a string is written as UTF-8); short writes are continued until all is written. */
  write(bytes: Uint8Array | string): void;
  /** How many bytes were written so far. */
  readonly bytesWritten: number;
}

/** The longest part of the target's name kept in a temporary file's name (names are limited to 255 bytes). */
const NAME_KEEP = 160;

/** The prefix of the temporary files written for `target` (in the target's folder). */
function tempPrefix(target: string): string {
  return `.${path.basename(target).slice(0, NAME_KEEP)}.tmp-`;
}

/** Whether the process `pid` still runs (an error other than "no such process" counts as running). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes the temporary files that saves of `target` left behind when their process died
 * (kill -9, a crash, a power cut). Temporary files of running processes are kept: they may be
 * being written right now.
 */
export function removeStaleTemporaries(target: string): void {
  const folder = path.dirname(target);
  const prefix = tempPrefix(target);
  let names: string[];
  try {
    names = fs.readdirSync(folder);
  } catch {
    return; // the write that follows reports a missing or unreadable folder
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)-[0-9a-f]{12}$/.exec(name.slice(prefix.length));
    if (!m || processAlive(Number(m[1]))) continue;
    try {
      fs.rmSync(path.join(folder, name), { force: true });
    } catch {
      // another save removing it at the same time, or no permission: not this save's business
    }
  }
}

/** fsyncs a folder, so that a rename or a new entry in it survives a power cut. */
export function syncFolder(folder: string): void {
  if (process.platform === 'win32') return; // folders cannot be opened for fsync there; NTFS journals renames
  const fd = fs.openSync(folder, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** A system error (from fs) rather than an error thrown by the caller's own code (not `instanceof`: realms differ under test runners). */
function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  return typeof e === 'object' && e !== null && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

const HINTS: Record<string, string> = {
  ENOENT: 'does the folder exist?',
  ENOTDIR: 'a part of the path is not a folder',
  EACCES: 'no permission to write in that folder',
  EPERM: 'no permission to write in that folder',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exhausted',
  EISDIR: 'a folder has that name',
  EEXIST: 'a folder has that name',
  ENOTEMPTY: 'a folder has that name',
  ENAMETOOLONG: 'the file name is too long',
};

/** Turns an fs error into one that names the target and says that the old file is intact. */
function wrap(where: string, target: string, e: NodeJS.ErrnoException): Error {
  const hint = e.code && HINTS[e.code] ? ` (${HINTS[e.code]})` : '';
  const err = new Error(`${where}: cannot write ${target}: ${e.message}${hint}; any previous file at that path is unchanged`, { cause: e }) as NodeJS.ErrnoException;
  err.code = e.code;
  return err;
}

/**
 * Writes a file atomically (see the module documentation), its contents produced by `fill`
 * piece by piece, so a large file never has to exist in memory as one buffer.
 *
 * An error thrown by `fill` is rethrown unchanged; an fs error becomes an Error naming
 * `where` and the target. Either way the temporary file is removed and the target is left as
 * it was. A target that is a symbolic link is followed (the file it points to is replaced);
 * an existing target's permission bits are kept.
 *
 * @param target the file to create or replace
 * @param fill writes the contents to the sink it is given
 * @param where the API call, for error messages (e.g. `"saveSafetensors"`)
 */
export function writeFileAtomicWith(target: string, fill: (sink: AtomicSink) => void, where = 'write'): void {
  let file = target;
  let mode: number | undefined; // an existing file's permission bits, kept
  try {
    const st = fs.lstatSync(file);
    if (st.isSymbolicLink()) {
      try {
        file = fs.realpathSync(file);
      } catch {
        // a dangling link: replace the link itself
      }
    }
    const real = fs.statSync(file, { throwIfNoEntry: false });
    if (real?.isDirectory()) throw Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${target}'`), { code: 'EISDIR', syscall: 'open' });
    if (real?.isFile()) mode = real.mode & 0o7777;
  } catch (e) {
    if (isSystemError(e) && e.code === 'ENOENT') {
      // a new file
    } else if (isSystemError(e)) {
      throw wrap(where, target, e);
    } else {
      throw e;
    }
  }
  removeStaleTemporaries(file);
  const folder = path.dirname(file);
  const tmp = path.join(folder, `${tempPrefix(file)}${process.pid}-${crypto.randomBytes(6).toString('hex')}`);
  let fd = -1;
  let renamed = false;
  try {
    fd = fs.openSync(tmp, 'wx', mode ?? 0o666);
    if (mode !== undefined && process.platform !== 'win32') fs.fchmodSync(fd, mode); // exactly the old file's bits, whatever the umask
    const handle = fd;
    let written = 0;
    const sink: AtomicSink = {
      write(bytes: Uint8Array | string): void {
        const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
        let off = 0;
        while (off < b.byteLength) off += fs.writeSync(handle, b, off, b.byteLength - off);
        written += b.byteLength;
      },
      get bytesWritten(): number {
        return written;
      },
    };
    fill(sink);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = -1;
    fs.renameSync(tmp, file);
    renamed = true;
    syncFolder(folder);
  } catch (e) {
    if (fd >= 0) {
      try {
        fs.closeSync(fd);
      } catch {
        // already failing; the original error matters
      }
    }
    if (!renamed) {
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        // left for the next save to clean up
      }
    }
    if (renamed && isSystemError(e)) {
      const err = new Error(`${where}: wrote ${target}, but could not sync its folder to disk (${e.message}); the new file is in place but may not survive a power cut`, { cause: e });
      throw err;
    }
    throw isSystemError(e) ? wrap(where, target, e) : e;
  }
}

/**
 * Writes `data` to `target` atomically: readers see the old file or the new one, never a
 * partial one, and a crash during the write leaves the old file intact. See
 * {@link writeFileAtomicWith} for errors, links and permissions.
 *
 * @param target the file to create or replace
 * @param data the contents (a string is written as UTF-8)
 * @param where the API call, for error messages (e.g. `"CharTokenizer.save"`)
 */
export function writeFileAtomic(target: string, data: string | Uint8Array, where = 'write'): void {
  writeFileAtomicWith(target, (sink) => sink.write(data), where);
}
