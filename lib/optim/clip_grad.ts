/**
 * clipGradNorm: rescales gradients so that their joint norm is at most `maxNorm`, as
 * torch.nn.utils.clip_grad_norm_ (one native call for all parameters):
 *
 *   total = ‖(‖g₁‖_p, …, ‖gₙ‖_p)‖_p   (max |g| for p = Infinity)
 *   gᵢ = gᵢ · min(1, maxNorm / (total + 1e-6))
 *
 * Parameters without a gradient are skipped. Returns `total` (before clipping) as a 0-D
 * tensor (0 when no parameter has a gradient).
 *
 * @example
 * loss.backward();
 * const norm = tn.optim.clipGradNorm(model.parameters(), 1.0);
 * opt.step();
 */
import { native, opId } from '../binding';
import { checkNumber, typeError } from '../errors';
import { Tensor } from '../tensor';

let OP: number | undefined;

/** Clips gradients by their joint norm; see the module documentation. */
export function clipGradNorm(params: Iterable<Tensor> | Tensor, maxNorm: number, normType = 2): Tensor {
  const list = params instanceof Tensor ? [params] : params !== null && typeof params === 'object' && Symbol.iterator in params ? [...params] : typeError('clipGradNorm: params', 'a Tensor or an iterable of Tensors', params);
  checkNumber('clipGradNorm: maxNorm', maxNorm);
  checkNumber('clipGradNorm: normType', normType);
  const grads: Tensor[] = [];
  try {
    list.forEach((p, i) => {
      if (!(p instanceof Tensor)) typeError(`clipGradNorm: params[${i}]`, 'a Tensor', p);
      const g = p.grad;
      if (g) grads.push(g);
    });
    OP ??= opId('clipGradNorm');
    return Tensor._wrap(native.op(OP, grads.map((g) => g.id), maxNorm, normType) as number);
  } finally {
    for (const g of grads) g.dispose();
  }
}
