// Small descriptive statistics and rank correlations, used by the benchmark
// harness and by anyone who compares predictors with ground truth.

export function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('mean of an empty list');
  return sum(xs) / xs.length;
}

/**
 * Standard deviation. ddof = 0 gives the population value, ddof = 1 the
 * sample (Bessel-corrected) value; lists shorter than ddof + 1 give 0.
 */
export function std(xs: readonly number[], ddof = 0): number {
  if (xs.length === 0) throw new RangeError('std of an empty list');
  if (xs.length <= ddof) return 0;
  const m = mean(xs);
  let ss = 0;
  for (const x of xs) ss += (x - m) * (x - m);
  return Math.sqrt(ss / (xs.length - ddof));
}

export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

/** Linear interpolation between order statistics (numpy's default). */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) throw new RangeError('quantile of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** 1-based ranks; ties share the average of the ranks they span. */
export function ranks(xs: readonly number[]): number[] {
  const order = xs.map((_, i) => i).sort((a, b) => xs[a]! - xs[b]!);
  const out = new Array<number>(xs.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && xs[order[j + 1]!] === xs[order[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k]!] = avg;
    i = j + 1;
  }
  return out;
}

/** Pearson correlation; NaN when either list is constant. */
export function pearson(a: readonly number[], b: readonly number[]): number {
  checkPair(a, b, 'pearson');
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** Spearman's rho: the Pearson correlation of the (tie-averaged) ranks. */
export function spearman(a: readonly number[], b: readonly number[]): number {
  checkPair(a, b, 'spearman');
  return pearson(ranks(a), ranks(b));
}

/**
 * Kendall's tau-b, which corrects for ties in either list (equal to tau-a
 * when there are none). O(n^2), fine for the few thousand points predictors
 * are judged on.
 */
export function kendallTau(a: readonly number[], b: readonly number[]): number {
  checkPair(a, b, 'kendallTau');
  let concordant = 0;
  let discordant = 0;
  let tiesA = 0;
  let tiesB = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 1; j < a.length; j++) {
      const da = Math.sign(a[i]! - a[j]!);
      const db = Math.sign(b[i]! - b[j]!);
      if (da === 0 && db === 0) continue;
      if (da === 0) tiesA++;
      else if (db === 0) tiesB++;
      else if (da === db) concordant++;
      else discordant++;
    }
  }
  return (concordant - discordant) / Math.sqrt((concordant + discordant + tiesA) * (concordant + discordant + tiesB));
}

/**
 * Precision at the top fraction: the share of the k = ceil(fraction · n)
 * items ranked highest by `a` that are among the k ranked highest by `b`
 * (ties broken by position). Judges whether a ranking finds the best items,
 * which correlations over all items do not.
 */
export function precisionAtTop(a: readonly number[], b: readonly number[], fraction: number): number {
  checkPair(a, b, 'precisionAtTop');
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`precisionAtTop: fraction must be in (0, 1], got ${fraction}`);
  const k = Math.ceil(fraction * a.length);
  const top = (xs: readonly number[]) => xs.map((_, i) => i).sort((i, j) => xs[j]! - xs[i]! || i - j).slice(0, k);
  const best = new Set(top(b));
  return top(a).filter((i) => best.has(i)).length / k;
}

function checkPair(a: readonly number[], b: readonly number[], name: string): void {
  if (a.length !== b.length) throw new RangeError(`${name}: lists differ in length (${a.length} vs ${b.length})`);
  if (a.length < 2) throw new RangeError(`${name}: needs at least 2 points, got ${a.length}`);
}
