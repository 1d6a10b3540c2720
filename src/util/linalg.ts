// Small dense linear algebra in plain TypeScript (row-major Float64Arrays),
// for systems of a few hundred unknowns at most: Gaussian-process kernels,
// least-squares fits.

/** Lower Cholesky factor of a symmetric n×n matrix (row-major), or null when it is not positive definite. */
export function cholesky(a: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) {
        if (!(s > 0)) return null;
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / l[j * n + j]!;
      }
    }
  }
  return l;
}

/** Solves L·x = b (forward) in place. */
export function forwardSolve(l: Float64Array, n: number, b: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * b[k]!;
    b[i] = s / l[i * n + i]!;
  }
  return b;
}

/** Solves Lᵀ·x = b (backward) in place. */
export function backwardSolve(l: Float64Array, n: number, b: Float64Array): Float64Array {
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * b[k]!;
    b[i] = s / l[i * n + i]!;
  }
  return b;
}

/** Solves A·x = b for a symmetric positive definite A (Cholesky); null when A is not positive definite. */
export function solveSpd(a: Float64Array, n: number, b: readonly number[]): Float64Array | null {
  const l = cholesky(a, n);
  return l && backwardSolve(l, n, forwardSolve(l, n, Float64Array.from(b)));
}
