/**
 * bench/swin: the window attention of a Swin-T stage-1 block (dim 96, 56 × 56 tokens, window
 * 7, shift 3, batch 8, 3 heads of 32: 512 windows of 49 tokens) and the shift + partition
 * around it, float32, at 1 and 2 threads (libtorch and OpenBLAS alike on both sides).
 *
 *   fused     tn.swin.windowAttention: the flash kernel over (B, nW·nH, N, d) with bias + mask
 *             as one broadcast additive mask; no (B·nW, nH, N, N) scores in the forward
 *   unfused   the same op with { fused: false }: q·scale @ kᵀ, + bias, + mask, softmax, @ v in
 *             libtorch, called from Node (op for op the official code)
 *   Python    bench/python/swin.py: the official code's ops from /usr/bin/python3 on the same libtorch
 *
 * fwd+bwd takes gradients of q, k, v and the relative position bias table. The block rows run
 * a whole SwinTransformerBlock (pre-norm, qkv, window attention, proj, MLP 96 → 384 → 96 with
 * GELU, residuals) written functionally on both sides; Node uses the fused shift + partition
 * and the fused window attention.
 */
import * as tn from '../lib';
import { native, opId } from '../lib/binding';
import { runPython, table, timeMs } from './util';
import type { Row } from './util';

const CFG = { batch: 8, res: 56, window: 7, shift: 3, dim: 96, heads: 3, reps: 7 };



const NAIVE_PART = opId('swinRollAndWindowPartitionReference');
const NAIVE_MERGE = opId('swinWindowMergeAndRollReference');

function timingTable(threads: number): string {
  tn.setNumThreads(threads, threads);
  const { batch: B, res, window: ws, shift, dim, heads: nH, reps } = CFG;
  const nW = (res / ws) ** 2;
  const N = ws * ws;
  const d = dim / nH;
  const py = runPython<{ rows: { case: string; ms: number }[] }>('swin.py', [String(threads), JSON.stringify(CFG)], threads);
  const pyMs = (c: string): number => py.rows.find((r) => r.case === c)!.ms;
  const rows: Row[] = [];
  const extra: string[] = [];
  tn.tidy(() => {
    tn.manualSeed(0);
    const [q, k, v] = [0, 1, 2].map(() => tn.randn([B * nW, nH, N, d]));
    const tbl = tn.randn([(2 * ws - 1) ** 2, nH]).mul(0.02);
    const index = tn.swin.relativePositionIndex(ws);
    const mask = tn.swin.shiftedWindowMask(res, res, ws, shift);
    const g = tn.randn([B * nW, nH, N, d]);
    const scale = d ** -0.5;
    const attn = (fused: boolean, qq = q, kk = k, vv = v, tt = tbl): tn.Tensor =>
      tn.swin.windowAttention(qq, kk, vv, tt, index, { mask, scale, fused });
    const fwd = (fused: boolean): number => timeMs(() => tn.noGrad(() => tn.tidy(() => void attn(fused))), reps);
    const fwdBwd = (fused: boolean): number => {
      const leaves = [q, k, v, tbl].map((t) => t.detach().requiresGrad_());
      const ms = timeMs(
        () =>
          tn.tidy(() => {
            attn(fused, leaves[0], leaves[1], leaves[2], leaves[3]).backward(g);
            for (const t of leaves) t.grad = null;
          }),
        reps,
      );
      tn.dispose(leaves);
      return ms;
    };
    const fusedF = fwd(true);
    const unfusedF = fwd(false);
    const fusedFB = fwdBwd(true);
    const unfusedFB = fwdBwd(false);
    rows.push({ case: 'window attention fwd, fused', node: fusedF, python: pyMs('attn fwd') });
    rows.push({ case: 'window attention fwd, unfused (libtorch ops)', node: unfusedF, python: pyMs('attn fwd') });
    rows.push({ case: 'window attention fwd+bwd, fused', node: fusedFB, python: pyMs('attn fwd+bwd') });
    rows.push({ case: 'window attention fwd+bwd, unfused (libtorch ops)', node: unfusedFB, python: pyMs('attn fwd+bwd') });
    extra.push(`fused vs unfused (both from Node): forward ${(unfusedF / fusedF).toFixed(2)}x, forward+backward ${(unfusedFB / fusedFB).toFixed(2)}x faster.`);

    const x = tn.randn([B, res, res, dim]);
    const w = tn.swin.rollAndWindowPartition(x, ws, shift);
    const part = timeMs(() => tn.tidy(() => void tn.swin.rollAndWindowPartition(x, ws, shift)), reps);
    const partNaive = timeMs(() => tn.tidy(() => void tn.Tensor._wrap(native.op(NAIVE_PART, x.id, ws, shift) as number)), reps);
    const merge = timeMs(() => tn.tidy(() => void tn.swin.windowMergeAndRoll(w, ws, res, res, shift)), reps);
    const mergeNaive = timeMs(() => tn.tidy(() => void tn.Tensor._wrap(native.op(NAIVE_MERGE, w.id, ws, res, res, shift) as number)), reps);
    rows.push({ case: 'roll + window partition, fused', node: part, python: pyMs('roll+partition') });
    rows.push({ case: 'roll + window partition, roll + view/permute', node: partNaive, python: pyMs('roll+partition') });
    rows.push({ case: 'window reverse + roll, fused', node: merge, python: pyMs('reverse+roll') });
    rows.push({ case: 'window reverse + roll, view/permute + roll', node: mergeNaive, python: pyMs('reverse+roll') });
  });
  tn.tidy(() => {
    tn.manualSeed(1);
    const C = dim;
    const hidden = 4 * C;
    const p: Record<string, tn.Tensor> = {
      norm1_w: tn.ones([C]), norm1_b: tn.zeros([C]),
      qkv_w: tn.randn([3 * C, C]).mul(C ** -0.5), qkv_b: tn.zeros([3 * C]),
      proj_w: tn.randn([C, C]).mul(C ** -0.5), proj_b: tn.zeros([C]),
      table: tn.randn([(2 * ws - 1) ** 2, nH]).mul(0.02),
      norm2_w: tn.ones([C]), norm2_b: tn.zeros([C]),
      fc1_w: tn.randn([hidden, C]).mul(C ** -0.5), fc1_b: tn.zeros([hidden]),
      fc2_w: tn.randn([C, hidden]).mul(hidden ** -0.5), fc2_b: tn.zeros([C]),
    };
    const index = tn.swin.relativePositionIndex(ws);
    const mask = tn.swin.shiftedWindowMask(res, res, ws, shift);
    const F = tn.nn.functional;
    const block = (x: tn.Tensor, q: Record<string, tn.Tensor>): tn.Tensor => {
      const h = F.layerNorm(x, [C], q.norm1_w, q.norm1_b).view([B, res, res, C]);
      const xw = tn.swin.rollAndWindowPartition(h, ws, shift);
      const Bw = xw.shape[0];
      const qkv = F.linear(xw, q.qkv_w, q.qkv_b).reshape([Bw, N, 3, nH, d]).permute([2, 0, 3, 1, 4]);
      const o = tn.swin.windowAttention(qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2), q.table, index, { mask, scale: d ** -0.5 });
      const y = F.linear(o.transpose(1, 2).reshape([Bw, N, C]), q.proj_w, q.proj_b);
      const x1 = x.add(tn.swin.windowMergeAndRoll(y, ws, res, res, shift).view([B, res * res, C]));
      const h2 = F.layerNorm(x1, [C], q.norm2_w, q.norm2_b);
      return x1.add(F.linear(F.gelu(F.linear(h2, q.fc1_w, q.fc1_b)), q.fc2_w, q.fc2_b));
    };
    const xb = tn.randn([B, res * res, C]);
    const fwd = timeMs(() => tn.noGrad(() => tn.tidy(() => void block(xb, p))), reps);
    const leaves: Record<string, tn.Tensor> = Object.fromEntries(Object.entries(p).map(([k, t]) => [k, t.detach().requiresGrad_()]));
    const xg = xb.detach().requiresGrad_();
    const gb = tn.randn([B, res * res, C]);
    const fwdBwd = timeMs(
      () =>
        tn.tidy(() => {
          block(xg, leaves).backward(gb);
          for (const t of [xg, ...Object.values(leaves)]) t.grad = null;
        }),
      reps,
    );
    rows.push({ case: 'Swin block fwd (norm, attention, MLP)', node: fwd, python: pyMs('block fwd') });
    rows.push({ case: 'Swin block fwd+bwd', node: fwdBwd, python: pyMs('block fwd+bwd') });
    tn.dispose([xg, ...Object.values(leaves)]);
  });
  const title = `Swin stage-1 window attention (B ${B}, ${res}x${res}, window ${ws}, shift ${shift}, dim ${dim}, ${nH} heads), float32, ${threads} thread${threads > 1 ? 's' : ''} (ms, median of ${reps})`;
  return `${table(title, 'ms', rows)}${extra.join('\n')}\n`;
}

/** Runs the Swin benchmark at 1 and 2 threads. */
export function swin(): string {
  const previous = tn.getNumThreads();
  try {
    return [timingTable(1), timingTable(2)].join('\n');
  } finally {
    tn.setNumThreads(previous);
  }
}
