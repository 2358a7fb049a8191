/**
 * Per-request token sampling on the host, one row of logits at a time.
 *
 * The scheduler copies a step's (B, V) logits out once and samples each row here with that
 * request's own seeded random stream, so a request's tokens depend only on its prompt, its
 * parameters and its seed, never on which requests shared its batch (the server's batched ≡
 * unbatched guarantee). V is a vocabulary (≤ 10⁵), so a JS pass over a row costs microseconds.
 */

/** Returns a deterministic uniform [0, 1) stream (mulberry32: 32-bit state, fast, good enough for sampling). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The sampling knobs of {@link sampleRow}. */
export interface RowSampling {
  /** 0 = greedy. */
  temperature: number;
  /** 0 = all tokens. */
  topK: number;
  /** 1 = all tokens. */
  topP: number;
}

/**
 * Draws one token id from `logits[offset .. offset + vocab)`: greedy at temperature 0, else
 * softmax(logits / temperature) restricted to the top-k tokens, then to the smallest prefix
 * (by probability) whose mass reaches top-p, renormalised — the order of operations of
 * HuggingFace's and nanoGPT's samplers.
 */
export function sampleRow(logits: Float32Array, offset: number, vocab: number, p: RowSampling, random: () => number): number {
  if (p.temperature === 0) {
    let best = 0;
    for (let j = 1; j < vocab; j++) if (logits[offset + j] > logits[offset + best]) best = j;
    return best;
  }
  // Candidate ids, most likely first (a full sort: vocabularies here are small, and top-p needs the order).
  const ids = Array.from({ length: vocab }, (_, j) => j);
  ids.sort((a, b) => logits[offset + b] - logits[offset + a]);
  const k = p.topK > 0 ? Math.min(p.topK, vocab) : vocab;
  const max = logits[offset + ids[0]];
  const probs = new Float64Array(k);
  let sum = 0;
  for (let r = 0; r < k; r++) {
    probs[r] = Math.exp((logits[offset + ids[r]] - max) / p.temperature);
    sum += probs[r];
  }
  // Keep the smallest prefix whose probability reaches topP (always at least one token).
  let keep = k;
  if (p.topP < 1) {
    let mass = 0;
    for (let r = 0; r < k; r++) {
      mass += probs[r] / sum;
      if (mass >= p.topP) {
        keep = r + 1;
        break;
      }
    }
  }
  let kept = 0;
  for (let r = 0; r < keep; r++) kept += probs[r];
  let u = random() * kept;
  for (let r = 0; r < keep; r++) {
    u -= probs[r];
    if (u < 0) return ids[r];
  }
  return ids[keep - 1];
}
