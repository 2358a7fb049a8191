/**
 * Every ```ts / ```typescript block of README.md compiles under `--strict` against the
 * package's types, so a snippet that drifts from the API fails CI.
 *
 * Conventions for README snippets:
 * - each block is its own ES module; `tn` may be used without importing it
 *   (`import * as tn from 'transformer-native'` is prepended when the block does not import
 *   the package itself);
 * - `transformer-native` resolves to lib/index.ts, whose types are what dist/lib/*.d.ts is
 *   generated from (no build needed);
 * - a block may use the few names in GIVEN below as its surroundings (an HTTP response, an
 *   abort signal); anything else it uses it defines;
 * - a block that cannot compile on purpose is fenced as ```ts nocheck (keep that rare).
 *
 * One program holds all blocks, and only their diagnostics are asked for, so the check costs
 * one parse of lib/ rather than one compile per block.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

const root = path.resolve(__dirname, '..');
const readmePath = path.join(root, 'README.md');

// Names a snippet may use without defining them: what the surrounding application owns.
const GIVEN = `
declare const signal: AbortSignal;
declare const res: import('node:http').ServerResponse;
`;

interface Snippet {
  /** 1-based README line of the block's first code line. */
  line: number;
  code: string;
  nocheck: boolean;
}

function extractSnippets(markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```\s*(ts|typescript)\b(.*)$/.exec(lines[i]);
    if (!open) {
      // Skip other fenced blocks whole, so a ``` line inside them is not taken for an opening.
      if (/^```/.test(lines[i])) {
        const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
        if (end < 0) throw new Error(`README.md:${i + 1}: unterminated code block`);
        i = end;
      }
      continue;
    }
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    if (end < 0) throw new Error(`README.md:${i + 1}: unterminated code block`);
    out.push({ line: i + 2, code: lines.slice(i + 1, end).join('\n'), nocheck: /\bnocheck\b/.test(open[2]) });
    i = end;
  }
  return out;
}

const options: ts.CompilerOptions = {
  strict: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  // ESM, so that a snippet may use top-level await as a reader's script would.
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'],
  types: ['node'],
  skipLibCheck: true,
  paths: { 'transformer-native': [path.join(root, 'lib', 'index.ts')] },
};

/** Compiles the snippets in one program; returns `README.md:LINE: message` for each error. */
function compileSnippets(snippets: Snippet[]): string[] {
  const files = new Map<string, { text: string; snippet?: Snippet; header: number }>();
  files.set(path.join(root, '.readme', 'given.d.ts'), { text: GIVEN, header: 0 });
  for (const s of snippets) {
    const importsTn = /from\s+['"]transformer-native['"]/.test(s.code);
    const header = importsTn ? '' : "import * as tn from 'transformer-native';\n";
    // `export {}` keeps a block without imports a module (own scope, top-level await).
    files.set(path.join(root, '.readme', `line-${s.line}.ts`), { text: `${header}${s.code}\nexport {};\n`, snippet: s, header: header ? 1 : 0 });
  }
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => {
    const f = files.get(path.resolve(name));
    return f ? ts.createSourceFile(name, f.text, lang) : getSourceFile(name, lang, ...rest);
  };
  host.fileExists = (name) => files.has(path.resolve(name)) || fileExists(name);
  host.readFile = (name) => files.get(path.resolve(name))?.text ?? readFile(name);
  host.getCurrentDirectory = () => root;

  const program = ts.createProgram([...files.keys()], options, host);
  const errors: string[] = [];
  for (const [name, f] of files) {
    const sf = program.getSourceFile(name)!;
    for (const d of [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]) {
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      if (!f.snippet || d.start === undefined) {
        errors.push(`${path.relative(root, name)}: ${text}`);
        continue;
      }
      const { line } = sf.getLineAndCharacterOfPosition(d.start);
      errors.push(`README.md:${f.snippet.line + line - f.header}: TS${d.code}: ${text}`);
    }
  }
  return errors;
}

jest.setTimeout(120_000);

describe('README snippets', () => {
  const snippets = extractSnippets(fs.readFileSync(readmePath, 'utf8'));

  it('has TypeScript snippets, few of them unchecked', () => {
    expect(snippets.length).toBeGreaterThanOrEqual(5);
    expect(snippets.filter((s) => s.nocheck).length).toBeLessThanOrEqual(1);
  });

  it('compile under --strict against the package types', () => {
    // A broken block rides along as a control: were the check to go blind (e.g. the package
    // resolving to `any`), it would pass too and this expectation would fail.
    const control: Snippet = {
      line: -1000,
      code: [
        'const model = new tn.nn.Linear(4, 1);',
        'const loss = tn.tidy(() => model(tn.randn([2, 4])).mean());', // a Module is not callable
        '{ using t = tn.zeros([2]); }',
        't.dispose();', // t is out of scope
      ].join('\n'),
      nocheck: false,
    };
    const errors = compileSnippets([...snippets.filter((s) => !s.nocheck), control]);
    const controlErrors = errors.filter((e) => /^README\.md:-\d+:/.test(e));
    expect(controlErrors.map((e) => e.split(':')[2])).toEqual([' TS2349', ' TS2304']);
    expect(errors.filter((e) => !controlErrors.includes(e))).toEqual([]);
  });
});
