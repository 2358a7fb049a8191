/**
 * ParameterList: parameters held in a list, as torch.nn.ParameterList; state-dict keys are
 * their indices (`emb_projs.0`, `emb_projs.1`, …). An entry may be null (as `append(None)` in
 * PyTorch): it keeps its index but has no key.
 *
 * @example
 * const projs = new tn.nn.ParameterList([tn.randn([64, 32]), null]);
 * projs.at(0);   // the first parameter
 */
import { typeError } from '../errors';
import { Tensor } from '../tensor';
import { Module } from './module';

/** A list of parameters; see the module documentation. */
export class ParameterList extends Module {
  private count = 0;

  constructor(params: Iterable<Tensor | null> = []) {
    super();
    for (const p of params) this.append(p);
  }

  /** Number of entries (null ones included). */
  get length(): number {
    return this.count;
  }

  /** Appends a parameter (made to require grad) or null. Returns this. */
  append(p: Tensor | null): this {
    if (p !== null && !(p instanceof Tensor)) typeError('ParameterList.append', 'a Tensor or null', p);
    this.registerParameter(String(this.count++), p);
    return this;
  }

  /** The entry at `index` (null for a null entry). */
  at(index: number): Tensor | null {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) throw new RangeError(`ParameterList.at: expected an index in [0, ${this.count}), but got ${index}`);
    return (this as unknown as Record<string, Tensor | null>)[String(index)];
  }

  /** Replaces the entry at `index` (ties a parameter shared with another module). */
  set(index: number, p: Tensor | null): void {
    this.at(index);
    (this as unknown as Record<string, Tensor | null>)[String(index)] = p;
  }

  /** A ParameterList has no forward: index it. */
  forward(): never {
    throw new Error('ParameterList has no forward(): use at(i)');
  }
}
