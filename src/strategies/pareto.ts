// Pareto tools for multi-objective search: dominance, non-dominated sorting
// and crowding distance (Deb et al., NSGA-II, 2002), and the 2-D hypervolume.
// Points are objective vectors; `maximize[k]` gives the direction of objective k.

/** True when a is at least as good as b everywhere and strictly better somewhere. */
export function dominates(a: readonly number[], b: readonly number[], maximize: readonly boolean[]): boolean {
  let strictly = false;
  for (let k = 0; k < a.length; k++) {
    const da = maximize[k] ? a[k]! : -a[k]!;
    const db = maximize[k] ? b[k]! : -b[k]!;
    if (da < db) return false;
    if (da > db) strictly = true;
  }
  return strictly;
}

/** Fronts of point indices: front 0 is non-dominated, front 1 is non-dominated once front 0 is removed, and so on. */
export function nonDominatedSort(points: readonly (readonly number[])[], maximize: readonly boolean[]): number[][] {
  const n = points.length;
  const dominatedBy = Array.from({ length: n }, () => 0);
  const dominating: number[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (dominates(points[i]!, points[j]!, maximize)) {
        dominating[i]!.push(j);
        dominatedBy[j]!++;
      } else if (dominates(points[j]!, points[i]!, maximize)) {
        dominating[j]!.push(i);
        dominatedBy[i]!++;
      }
    }
  }
  const fronts: number[][] = [];
  let current = points.map((_, i) => i).filter((i) => dominatedBy[i] === 0);
  while (current.length > 0) {
    fronts.push(current);
    const next: number[] = [];
    for (const i of current) {
      for (const j of dominating[i]!) if (--dominatedBy[j]! === 0) next.push(j);
    }
    current = next.sort((a, b) => a - b);
  }
  return fronts;
}

/**
 * Crowding distance of each member of `front` (aligned with it): the sum over
 * objectives of the normalised gap between its two neighbours; the extremes
 * of every objective get Infinity.
 */
export function crowdingDistance(points: readonly (readonly number[])[], front: readonly number[]): number[] {
  const distance = front.map(() => 0);
  if (front.length === 0) return distance;
  const objectives = points[front[0]!]!.length;
  for (let k = 0; k < objectives; k++) {
    const order = front.map((_, i) => i).sort((a, b) => points[front[a]!]![k]! - points[front[b]!]![k]! || a - b);
    const lo = points[front[order[0]!]!]![k]!;
    const hi = points[front[order[order.length - 1]!]!]![k]!;
    distance[order[0]!] = Infinity;
    distance[order[order.length - 1]!] = Infinity;
    if (hi === lo) continue;
    for (let r = 1; r < order.length - 1; r++) {
      const prev = points[front[order[r - 1]!]!]![k]!;
      const next = points[front[order[r + 1]!]!]![k]!;
      distance[order[r]!]! += (next - prev) / (hi - lo);
    }
  }
  return distance;
}

/**
 * Area dominated by the points and bounded by the reference point, for two
 * objectives. Points that do not strictly beat the reference in both
 * objectives add nothing.
 */
export function hypervolume2d(points: readonly (readonly number[])[], reference: readonly number[], maximize: readonly boolean[]): number {
  // Work in "smaller is better" coordinates.
  const flip = (v: number, k: number) => (maximize[k] ? -v : v);
  const rx = flip(reference[0]!, 0);
  const ry = flip(reference[1]!, 1);
  const pts = points
    .map((p) => [flip(p[0]!, 0), flip(p[1]!, 1)] as const)
    .filter(([x, y]) => x < rx && y < ry)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let area = 0;
  let lowestY = ry;
  for (const [x, y] of pts) {
    if (y < lowestY) {
      area += (rx - x) * (lowestY - y);
      lowestY = y;
    }
  }
  return area;
}

/**
 * Indices of the non-dominated points of two objectives, in O(n log n) (a
 * sweep in order of the first objective), for fronts of whole tables where
 * nonDominatedSort's pairwise comparisons would be too slow. Of duplicate
 * points only the first is kept.
 */
export function paretoFront2d(points: readonly (readonly number[])[], maximize: readonly boolean[]): number[] {
  const flip = (v: number, k: number) => (maximize[k] ? -v : v);
  const order = points.map((_, i) => i).sort((a, b) => flip(points[a]![0]!, 0) - flip(points[b]![0]!, 0) || flip(points[a]![1]!, 1) - flip(points[b]![1]!, 1) || a - b);
  const front: number[] = [];
  let lowestY = Infinity;
  for (const i of order) {
    const y = flip(points[i]![1]!, 1);
    // Sorted by x then y: a point is dominated unless it strictly improves y on everything before it.
    if (y < lowestY) {
      front.push(i);
      lowestY = y;
    }
  }
  return front.sort((a, b) => a - b);
}
