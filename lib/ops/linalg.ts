/**
 * Matrix products. These are the calls worth running off the event loop: each has an
 * `...Async` form that runs on the addon's native worker and resolves to the result.
 */
import { typeError } from '../errors';
import { Tensor } from '../tensor';
import { callT, callTAsync, opId, tensorId as t } from './call';

const OP = { matmul: opId('matmul'), mm: opId('mm'), bmm: opId('bmm'), baddbmm: opId('baddbmm'), outer: opId('outer'), einsum: opId('einsum') };


/** Matrix product with broadcasting, as torch.matmul. */
export const matmul = (a: Tensor, b: Tensor): Tensor => callT(OP.matmul, t('matmul', a), t('matmul: other', b));
/** {@link matmul} on the native worker. */
export const matmulAsync = (a: Tensor, b: Tensor): Promise<Tensor> => callTAsync(OP.matmul, t('matmul', a), t('matmul: other', b));
/** 2-D matrix product. */
export const mm = (a: Tensor, b: Tensor): Tensor => callT(OP.mm, t('mm', a), t('mm: other', b));
/** Batched (B, n, m) × (B, m, p) product. */
export const bmm = (a: Tensor, b: Tensor): Tensor => callT(OP.bmm, t('bmm', a), t('bmm: other', b));
/** {@link bmm} on the native worker. */
export const bmmAsync = (a: Tensor, b: Tensor): Promise<Tensor> => callTAsync(OP.bmm, t('bmm', a), t('bmm: other', b));
/** beta·c + alpha·(a @ b), batched. */
export const baddbmm = (c: Tensor, a: Tensor, b: Tensor, beta = 1, alpha = 1): Tensor =>
  callT(OP.baddbmm, t('baddbmm', c), t('baddbmm: batch1', a), t('baddbmm: batch2', b), beta, alpha);
/** Outer product of two vectors. */
export const outer = (a: Tensor, b: Tensor): Tensor => callT(OP.outer, t('outer', a), t('outer: other', b));
/** Einstein summation, as torch.einsum: `einsum('bij,bjk->bik', a, b)`. */
export function einsum(equation: string, ...operands: Tensor[]): Tensor {
  if (typeof equation !== 'string') typeError('einsum: equation', 'a string', equation);
  return callT(OP.einsum, equation, operands.map((o, i) => t(`einsum: operand ${i}`, o)));
}
