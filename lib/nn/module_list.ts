/**
 * ModuleList: a list of submodules, as torch.nn.ModuleList. It registers its modules (so
 * their parameters reach `parameters()` and the state dict under '0.…', '1.…') but has no
 * forward of its own: the owner iterates it.
 *
 * @example
 * class Stack extends tn.nn.Module {
 *   declare layers: tn.nn.ModuleList<tn.nn.Linear>;
 *   constructor() {
 *     super();
 *     this.registerModule('layers', new tn.nn.ModuleList([new tn.nn.Linear(8, 8), new tn.nn.Linear(8, 8)]));
 *   }
 *   forward(x: tn.Tensor): tn.Tensor {
 *     return tn.tidy(() => { for (const l of this.layers) x = l.forward(x).relu(); return x; });
 *   }
 * }
 * // state dict: layers.0.weight, layers.0.bias, layers.1.weight, layers.1.bias
 */
import { typeError } from '../errors';
import { Module } from './module';

/** A list of modules; see the module documentation. */
export class ModuleList<M extends Module = Module> extends Module {
  constructor(modules: Iterable<M> = []) {
    super();
    this.extend(modules);
  }

  /** Number of modules. */
  get length(): number {
    return this.namedChildren().length;
  }

  /** The module at `index` (negative counts from the end). */
  at(index: number): M {
    const kids = this.children();
    const i = index < 0 ? index + kids.length : index;
    if (!Number.isInteger(i) || i < 0 || i >= kids.length) throw new RangeError(`ModuleList.at: index ${index} is out of range for ${kids.length} modules`);
    return kids[i] as M;
  }

  /** Appends a module. Returns this. */
  append(m: M): this {
    if (!(m instanceof Module)) typeError('ModuleList.append', 'a Module', m);
    this.registerModule(String(this.length), m);
    return this;
  }

  /** Appends every module of `modules`. Returns this. */
  extend(modules: Iterable<M>): this {
    if (modules === null || typeof (modules as Iterable<M>)[Symbol.iterator] !== 'function') typeError('ModuleList', 'an iterable of Modules', modules);
    for (const m of modules) this.append(m);
    return this;
  }

  [Symbol.iterator](): Iterator<M> {
    return (this.children() as M[])[Symbol.iterator]();
  }

  /** A ModuleList has no forward: iterate it. */
  forward(): never {
    throw new Error('ModuleList has no forward(): iterate over its modules instead');
  }
}
