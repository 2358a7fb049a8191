/**
 * A drop-in dependency: `npm pack`, then `npm install ./transformer-native-*.tgz` in an empty
 * project builds the addon there from source, prints no warning, leaves only the addon in its
 * build directory, and both `require` and ESM `import` work. The tarball holds only files that
 * work once installed.
 * Slow (a full native build, ~2 minutes on 2 cores), so it runs once, in its own temporary
 * project. `npm rebuild` from the trimmed directory is not repeated here (another full build).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { engines: { node: string } };

jest.setTimeout(900_000);

/** Every file under dir, relative to it, with its size. */
function walk(dir: string, base = dir): Array<{ file: string; size: number }> {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p, base) : [{ file: path.relative(base, p).split(path.sep).join('/'), size: fs.statSync(p).size }];
  });
}

/** The package.json of every package installed under node_modules (nested ones included). */
function installedPackages(nodeModules: string): Array<{ name: string; version: string; engines?: { node?: string } }> {
  const out: Array<{ name: string; version: string; engines?: { node?: string } }> = [];
  if (!fs.existsSync(nodeModules)) return out;
  for (const e of fs.readdirSync(nodeModules)) {
    if (e.startsWith('.')) continue;
    const dirs = e.startsWith('@') ? fs.readdirSync(path.join(nodeModules, e)).map((s) => path.join(nodeModules, e, s)) : [path.join(nodeModules, e)];
    for (const d of dirs) {
      const manifest = path.join(d, 'package.json');
      if (fs.existsSync(manifest)) out.push(JSON.parse(fs.readFileSync(manifest, 'utf8')));
      out.push(...installedPackages(path.join(d, 'node_modules')));
    }
  }
  return out;
}

/** The part of semver (a dependency of cmake-js, so installed in the consumer) used here. */
interface Semver {
  Range: new (range: string) => { set: Array<Array<{ semver: { major: number; minor: number; patch: number } | symbol }>> };
  satisfies(version: string, range: string): boolean;
}

/**
 * Whether range `theirs` accepts every version that `ours` accepts. semver.subset cannot say
 * it when `ours` spans two of `theirs`'s alternatives (">=20.17" against "^20 || >=21"), so
 * compare them at every version where either can change its answer: each bound, the version
 * just below it and the one just above.
 */
function acceptsAll(semver: Semver, theirs: string, ours: string): boolean {
  // A bound's prerelease tag (the -0 of `<21.0.0-0` in ^20) is dropped: only releases are probed;
  // `*` has no bound (its comparator holds a symbol).
  const bounds = [theirs, ours].flatMap((r) => new semver.Range(r).set.flat().map((c) => c.semver).filter((v) => typeof v === 'object'));
  const probes = bounds.flatMap(({ major, minor, patch }) => {
    const below = patch > 0 ? `${major}.${minor}.${patch - 1}` : minor > 0 ? `${major}.${minor - 1}.9999` : `${Math.max(major - 1, 0)}.9999.9999`;
    return [`${major}.${minor}.${patch}`, below, `${major}.${minor}.${patch + 1}`];
  });
  return [...probes, '999.0.0'].every((v) => !semver.satisfies(v, ours) || semver.satisfies(v, theirs));
}

describe('packed package', () => {
  let project: string;
  let tarballFiles: string[];
  let installStderr: string;
  let installSeconds: number;

  beforeAll(() => {
    project = fs.mkdtempSync(path.join(os.tmpdir(), 'tn-pack-'));
    // prepack may print (it brings dist/ up to date): the JSON report is the part from a lone '['.
    const out = execFileSync(npm, ['pack', '--json', '--pack-destination', project], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const report = JSON.parse(out.slice(out.search(/^\[$/m))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const tarball = path.join(project, report[0].filename);
    tarballFiles = report[0].files.map((f) => f.path);
    // A consumer that approved our install script (npm 11 asks, see README), so that npm has
    // nothing to warn about; a file: dependency is approved by its resolved path.
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, allowScripts: { [`file:${tarball}`]: true } }));
    const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
    delete env.TN_SKIP_NATIVE_BUILD;
    const t0 = Date.now();
    const r = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: project, encoding: 'utf8', env });
    installSeconds = (Date.now() - t0) / 1000;
    installStderr = r.stderr;
    if (r.status !== 0) throw new Error(`npm install of the tarball failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    console.log(`packed install with the native build: ${installSeconds.toFixed(0)} s`);
  });

  afterAll(() => {
    if (project) fs.rmSync(project, { recursive: true, force: true });
  });

  it('installs without a warning', () => {
    // EBADENGINE, deprecated packages, unapproved install scripts, peer conflicts: all are `npm warn`.
    expect(installStderr.split('\n').filter((l) => /\b(warn|WARN|deprecated)\b/.test(l))).toEqual([]);
  });

  it('installs only packages that accept the Node versions it declares', () => {
    // EBADENGINE is printed only on a Node that a package rejects: check the ranges themselves,
    // so that a CI runner on a newer Node still catches a dependency that drops a version we claim.
    const semver = require(require.resolve('semver', { paths: [path.join(project, 'node_modules', 'cmake-js')] })) as Semver;
    const rejecting = installedPackages(path.join(project, 'node_modules'))
      .filter((p) => p.engines?.node && !acceptsAll(semver, p.engines.node, pkg.engines.node))
      .map((p) => `${p.name}@${p.version} wants node ${p.engines!.node}, we declare ${pkg.engines.node}`);
    expect(rejecting).toEqual([]);
  });

  it('keeps only the addon and its libtorch stamp in build/', () => {
    const files = walk(path.join(project, 'node_modules', 'transformer-native', 'build'));
    expect(files.map((f) => f.file).sort()).toEqual(['Release/transformer_native.node', 'libtorch.txt']);
    expect(files.find((f) => f.file === 'libtorch.txt')!.size).toBeLessThan(4096);
  });

  it('ships no bench or examples, and no source map without its sources', () => {
    // Their build needs the repository (bench/python, devDependencies, models the examples write).
    expect(tarballFiles.filter((f) => /^dist\/(bench|examples)\//.test(f))).toEqual([]);
    // Maps are left out today (lib/*.ts is not shipped); a map that ships must find its sources.
    const installed = path.join(project, 'node_modules', 'transformer-native');
    const dangling = tarballFiles.filter((f) => f.endsWith('.map')).flatMap((f) => {
      const map = JSON.parse(fs.readFileSync(path.join(installed, f), 'utf8')) as { sourceRoot?: string; sources: string[] };
      return map.sources
        .map((s) => path.posix.normalize(path.posix.join(path.posix.dirname(f), map.sourceRoot ?? '', s)))
        .filter((s) => !tarballFiles.includes(s))
        .map((s) => `${f} -> ${s}`);
    });
    expect(dangling).toEqual([]);
    // Everything the package.json entry points name is there.
    for (const f of ['dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/esm/index.mjs', 'dist/lib/cli.js', 'scripts/install.js']) expect(tarballFiles).toContain(f);
  });

  it('builds its addon in the consumer and works from require()', () => {
    const script = "const tn = require('transformer-native'); const x = tn.tensor([1, 2, 3], { dtype: 'float32' }); console.log(x.mul(2).sum().item());";
    const out = execFileSync(process.execPath, ['-e', script], { cwd: project, encoding: 'utf8' });
    expect(out.trim()).toBe('12');
    expect(fs.existsSync(path.join(project, 'node_modules', 'transformer-native', 'build', 'Release', 'transformer_native.node'))).toBe(true);
  });

  it('works from an ESM import with named exports', () => {
    fs.writeFileSync(path.join(project, 'main.mjs'), "import { ones, tensor } from 'transformer-native';\nconsole.log(ones([2, 2]).add(tensor([1, 2], { dtype: 'float32' })).sum().item());\n");
    const out = execFileSync(process.execPath, ['main.mjs'], { cwd: project, encoding: 'utf8' });
    expect(out.trim()).toBe('10');
  });

  it('links its command', () => {
    const out = execFileSync(path.join(project, 'node_modules', '.bin', 'transformer-native'), ['--help'], { cwd: project, encoding: 'utf8' });
    expect(out).toContain('usage: transformer-native serve');
  });

  it('ships its type declarations', () => {
    const types = path.join(project, 'node_modules', 'transformer-native', 'dist', 'lib', 'index.d.ts');
    expect(fs.readFileSync(types, 'utf8')).toContain('Tensor');
  });
});
