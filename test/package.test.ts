/**
 * A drop-in dependency: `npm pack`, then `npm install ./transformer-native-*.tgz` in an empty
 * project builds the addon there from source, and both `require` and ESM `import` work.
 * Slow (a full native build), so it runs once, in its own temporary project.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

jest.setTimeout(900_000);

describe('packed package', () => {
  let project: string;

  beforeAll(() => {
    project = fs.mkdtempSync(path.join(os.tmpdir(), 'tn-pack-'));
    const out = execFileSync(npm, ['pack', '--silent', '--pack-destination', project], { cwd: root, encoding: 'utf8' });
    const tarball = path.join(project, out.trim().split('\n').pop()!);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    execFileSync(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: project, stdio: 'pipe', env: { ...process.env, CI: 'true' } });
  });

  afterAll(() => {
    fs.rmSync(project, { recursive: true, force: true });
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

  it('ships its type declarations', () => {
    const types = path.join(project, 'node_modules', 'transformer-native', 'dist', 'lib', 'index.d.ts');
    expect(fs.readFileSync(types, 'utf8')).toContain('Tensor');
  });
});
