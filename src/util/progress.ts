// Progress on stderr, for long phases (training, screening, searches). It
// lives below the CLI so that library code (the trainer) can report too.
import { stderr } from 'node:process';

/** A progress bar on stderr: redrawn in place on a terminal, a line every 10% otherwise. */
export class ProgressBar {
  private readonly start = Date.now();
  private lastDraw = 0;
  private lastDecile = -1;
  private current = 0;
  private suffix = '';

  constructor(private readonly label: string, private readonly total: number, private readonly enabled = true) {}

  tick(n = 1, suffix?: string): void {
    this.update(this.current + n, suffix);
  }

  update(current: number, suffix?: string): void {
    this.current = current;
    if (suffix !== undefined) this.suffix = suffix;
    if (!this.enabled) return;
    const now = Date.now();
    const done = this.current >= this.total;
    if (stderr.isTTY) {
      if (now - this.lastDraw < 100 && !done) return;
      this.lastDraw = now;
      stderr.write(`\r${this.render(now)}\x1b[K${done ? '\n' : ''}`);
    } else {
      const decile = Math.floor((10 * this.current) / Math.max(1, this.total));
      if (decile === this.lastDecile && !done) return;
      this.lastDecile = decile;
      stderr.write(`${this.render(now)}\n`);
    }
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
