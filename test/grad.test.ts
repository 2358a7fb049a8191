/**
 * Gradients against PyTorch 1.13 (float64 fixtures from test/reference/make_fixtures.py):
 * for each case, backward of sum(out * gout) must give the recorded input gradients.
 */
import * as tn from '../lib';
import type { Tensor } from '../lib';
import { CASES, CASE_FILES } from './cases';
import { FixtureCase, expectClose, loadCases } from './helpers';

for (const file of CASE_FILES) {
  describe(`${file} gradients`, () => {
    const { cases, all } = loadCases(file);
    afterAll(() => tn.dispose(all));
    const withGrad = [...cases.values()].filter((c) => Object.keys(c.grads).length > 0);

    test('the fixture has gradient cases', () => {
      expect(withGrad.length).toBeGreaterThan(5);
    });

    const run = (c: FixtureCase): void =>
      tn.tidy(() => {
        const inputs: Record<string, Tensor> = {};
        for (const [k, t] of Object.entries(c.inputs)) inputs[k] = k in c.grads ? t.clone().requiresGrad_() : t;
        const out = CASES[file][c.name](inputs);
        const outs = Array.isArray(out) ? out : [out];
        if (c.single) {
          outs[0].backward(c.gouts.get(0)!);
        } else {
          let loss: Tensor | undefined;
          for (const [i, g] of c.gouts) {
            const term = outs[i].mul(g).sum();
            loss = loss ? loss.add(term) : term;
          }
          loss!.backward();
        }
        for (const [k, expected] of Object.entries(c.grads)) {
          const g = inputs[k].grad;
          if (g === null) throw new Error(`${c.name}: input ${k} got no gradient`);
          expectClose(g, expected, 1e-9, 1e-7, { what: `${c.name} d/d${k}` });
        }
      });

    test.each(withGrad.map((c) => c.name))('%s', (name) => run(cases.get(name)!));
  });
}

describe('embedding padding index', () => {
  test('paddingIdx rows get no gradient', () => {
    tn.tidy(() => {
      const w = tn.ones([4, 2], { dtype: 'float64', requiresGrad: true });
      tn.nn.functional.embedding(tn.tensor([0, 3, 3, 1]), w, 3).sum().backward();
      expect(w.grad!.toArray()).toEqual([[1, 1], [1, 1], [0, 0], [0, 0]]);
    });
  });

  // Known bug (see the report): torch.nn.functional.embedding normalises a negative
  // padding_idx (-1 is the last row); here -1 reaches at::embedding, where it means "none".
  test('a negative paddingIdx counts from the end, as in PyTorch', () => {
    tn.tidy(() => {
      const w = tn.ones([4, 2], { dtype: 'float64', requiresGrad: true });
      tn.nn.functional.embedding(tn.tensor([0, 3, 3, 1]), w, -1).sum().backward();
      expect(w.grad!.toArray()).toEqual([[1, 1], [1, 1], [0, 0], [0, 0]]);
    });
  });
});
