// Progress on stderr, for long phases (training, screening, searches). It
// lives below the CLI so that library code (the trainer) can report too.
import { stderr } from 'node:process';

/** Where a bar writes: stderr, or a stand-in in tests. */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface ProgressOptions {
  stream?: ProgressStream;
  /** Milliseconds since some origin (a fake clock in tests). */
  now?: () => number;
}

/** A log (not a terminal) gets a line at most this often when no 10% step was crossed. */
export const LOG_INTERVAL_MS = 30_000;

/**
 * A progress bar: redrawn in place on a terminal; elsewhere (a log file, a
 * pipe) a line each time another 10% is done or 30 s passed, and one at
 * the end, so that logs stay short however many steps there are.
 */
export class ProgressBar {
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private readonly start: number;
  private lastDraw: number;
  private lastDecile = 0;
  private finished = false;
  private current = 0;
  private suffix = '';

  constructor(private readonly label: string, private readonly total: number, private readonly enabled = true, options: ProgressOptions = {}) {
    this.stream = options.stream ?? stderr;
    this.now = options.now ?? Date.now;
    this.start = this.now();
    this.lastDraw = this.start;
  }

  tick(n = 1, suffix?: string): void {
    this.update(this.current + n, suffix);
  }

  update(current: number, suffix?: string): void {
    this.current = current;
    if (suffix !== undefined) this.suffix = suffix;
    if (!this.enabled || this.finished) return;
    const now = this.now();
    const done = this.current >= this.total;
    if (this.stream.isTTY) {
      if (now - this.lastDraw < 100 && !done) return;
      this.lastDraw = now;
      this.stream.write(`\r${this.render(now)}\x1b[K${done ? '\n' : ''}`);
    } else {
      const decile = Math.floor((10 * this.current) / Math.max(1, this.total));
      if (decile === this.lastDecile && now - this.lastDraw < LOG_INTERVAL_MS && !done) return;
      this.lastDecile = decile;
      this.lastDraw = now;
      this.stream.write(`${this.render(now)}\n`);
    }
    this.finished = done;
  }

  private render(now: number): string {
    const frac = Math.min(1, this.current / Math.max(1, this.total));
    const width = 24;
    const filled = Math.round(frac * width);
    const elapsed = (now - this.start) / 1000;
    const eta = frac > 0 ? elapsed * (1 / frac - 1) : 0;
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    return `${this.label} [${bar}] ${this.current}/${this.total} ${elapsed.toFixed(0)}s<${eta.toFixed(0)}s ${this.suffix}`;
  }
}
