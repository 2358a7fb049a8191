/**
 * Sequential: modules applied one after the other, as torch.nn.Sequential.
 *
 *   y = mₙ(… m₂(m₁(x)))
 *
 * The children are registered as '0', '1', ..., so state-dict keys are those of PyTorch
 * ('0.weight', '2.bias', ...). Intermediate tensors are freed as the chain runs.
 *
 * @example
 * const mlp = new tn.nn.Sequential(new tn.nn.Linear(4, 16), new tn.nn.GELU(), new tn.nn.Linear(16, 2));
 * const y = mlp.forward(tn.randn([8, 4]));   // (8, 2)
 * Object.keys(mlp.stateDict({ keepVars: true }));   // ['0.weight', '0.bias', '2.weight', '2.bias']
 */
import { typeError } from '../errors';
import { tidy } from '../memory';
import type { Tensor } from '../tensor';
import { Module } from './module';

/** A chain of modules; see the module documentation. */
export class Sequential extends Module {
  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => {
      if (!(m instanceof Module)) typeError(`Sequential: module ${i}`, 'a Module', m);
      this.registerModule(String(i), m);
    });
  }

  /** Number of modules. */
  get length(): number {
    return this.children().length;
  }

  /** The module at `index` (negative counts from the end). */
  at(index: number): Module {
    const kids = this.children();
    const i = index < 0 ? index + kids.length : index;
    if (!Number.isInteger(i) || i < 0 || i >= kids.length) throw new RangeError(`Sequential.at: index ${index} is out of range for ${kids.length} modules`);
    return kids[i];
  }

  /** Appends a module (registered as the next index). Returns this. */
  append(m: Module): this {
    if (!(m instanceof Module)) typeError('Sequential.append', 'a Module', m);
    this.registerModule(String(this.namedChildren().length), m);
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.children()[Symbol.iterator]();
  }

  /** Runs every module in order on the previous one's output. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  forward(input: Tensor): any {
    return tidy(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      let x: any = input;
      for (const m of this.children()) x = m.forward(x);
      return x;
    });
  }
}
