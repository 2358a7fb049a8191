/**
 * Streaming text with stop strings: text is released only once it can no longer turn out to
 * be the beginning of a stop string, and generation ends before the first stop string (which
 * is not returned), as OpenAI's `stop` does.
 */
export class StopMatcher {
  private pending = '';
  private readonly longest: number;

  constructor(private readonly stops: readonly string[]) {
    this.longest = stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  /**
   * Feeds newly decoded text. Returns the text that is safe to emit now, and whether a stop
   * string was found (then nothing after it is ever emitted).
   */
  push(text: string): { emit: string; stopped: boolean } {
    this.pending += text;
    if (this.longest === 0) {
      const emit = this.pending;
      this.pending = '';
      return { emit, stopped: false };
    }
    let cut = -1;
    for (const s of this.stops) {
      const at = this.pending.indexOf(s);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      const emit = this.pending.slice(0, cut);
      this.pending = '';
      return { emit, stopped: true };
    }
    // Hold back the longest suffix that is a proper prefix of some stop string.
    let hold = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, this.pending.length); n > hold; n--) {
        if (this.pending.endsWith(s.slice(0, n))) {
          hold = n;
          break;
        }
      }
    }
    const emit = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return { emit, stopped: false };
  }

  /** The text held back so far (released when generation ends for another reason). */
  flush(): string {
    const rest = this.pending;
    this.pending = '';
    return rest;
  }
}
