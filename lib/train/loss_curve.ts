/**
 * LossCurve: the losses of a run, written as CSV (for any tool) and as an SVG line chart.
 * The chart is drawn by vega-lite (an optional peer dependency, loaded only when an SVG is
 * asked for: `npm install vega vega-lite`).
 */
import { writeFileAtomic } from '../io/atomic_write';

/** One recorded point. */
export interface LossPoint {
  step: number;
  split: 'train' | 'validation';
  loss: number;
  /** Learning rate at that step (train points). */
  lr?: number;
}

/** Recorded losses; see the module documentation. */
export class LossCurve {
  readonly points: LossPoint[] = [];

  /** Adds a point. */
  add(point: LossPoint): void {
    this.points.push(point);
  }

  /** The CSV text: step,split,loss,lr. */
  toCSV(): string {
    return ['step,split,loss,lr', ...this.points.map((p) => `${p.step},${p.split},${p.loss},${p.lr ?? ''}`)].join('\n') + '\n';
  }

  /** Writes the CSV, atomically (a crash leaves the previous file intact). */
  saveCSV(path: string): void {
    writeFileAtomic(path, this.toCSV(), 'LossCurve.saveCSV');
  }

  /** Renders the chart (loss against step, one line per split, log-scaled loss) as SVG text. */
  async toSVG(opts: { title?: string; width?: number; height?: number } = {}): Promise<string> {
    let vega: typeof import('vega');
    let vl: typeof import('vega-lite');
    try {
      /* eslint-disable @typescript-eslint/no-require-imports */
      vega = require('vega') as typeof import('vega');
      vl = require('vega-lite') as typeof import('vega-lite');
      /* eslint-enable @typescript-eslint/no-require-imports */
    } catch {
      throw new Error('LossCurve.toSVG: drawing needs the optional packages vega and vega-lite; run: npm install vega@5 vega-lite@5');
    }
    const spec = vl.compile({
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: opts.title ?? 'loss',
      width: opts.width ?? 640,
      height: opts.height ?? 320,
      background: 'white',
      data: { values: this.points },
      mark: { type: 'line', point: this.points.filter((p) => p.split === 'validation').length < 40 },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step' },
        y: { field: 'loss', type: 'quantitative', title: 'loss (nats)', scale: { type: 'log' } },
        color: { field: 'split', type: 'nominal', title: null },
      },
    }).spec;
    return new vega.View(vega.parse(spec), { renderer: 'none' }).toSVG();
  }

  /** Writes the SVG chart, atomically (a crash leaves the previous file intact). */
  async saveSVG(path: string, opts: { title?: string } = {}): Promise<void> {
    writeFileAtomic(path, await this.toSVG(opts), 'LossCurve.saveSVG');
  }
}
