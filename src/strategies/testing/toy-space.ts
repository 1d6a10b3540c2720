// A tiny search space (320 samples, one conditional dimension) and a
// synthetic objective, so strategy tests run in milliseconds without the
// real spaces or benchmarks.
import { TsnasError } from '../../errors.js';
import type { Rng } from '../../util/random.js';
import type { CrossoverKind, Dimension, EncodingKind, Sample, SearchSpace, Value } from '../../spaces/types.js';
import type { Objectives } from '../types.js';

const ops = ['a', 'b', 'c', 'd'] as const;

const dims: Dimension[] = [
  { label: 'op0', kind: 'categorical', values: ops },
  { label: 'op1', kind: 'categorical', values: ops },
  { label: 'op2', kind: 'categorical', values: ops },
  { label: 'depth', kind: 'integer', values: [1, 2, 3] },
  { label: 'width', kind: 'integer', values: [8, 16], condition: (s) => Number(s['depth']) > 1 },
];

function active(d: Dimension, s: Sample): boolean {
  return d.condition === undefined || d.condition(s);
}

/** Keeps the sample's values in dimension order, adding/dropping conditional ones. */
function complete(partial: Record<string, Value>, choose: (d: Dimension) => Value): Sample {
  const out: Record<string, Value> = {};
  for (const d of dims) {
    if (!active(d, out)) continue;
    out[d.label] = partial[d.label] !== undefined && d.values.includes(partial[d.label]!) ? partial[d.label]! : choose(d);
  }
  return out;
}

export class ToySpace implements SearchSpace {
  readonly name = 'toy';
  dimensions(): readonly Dimension[] {
    return dims;
  }
  size(): bigint {
    return 4n * 4n * 4n * (1n + 2n * 2n);
  }
  sizeFormula(): string {
    return '4^3 * (1 + 2*2)';
  }
  validate(s: Sample): void {
    for (const d of dims) {
      const v = s[d.label];
      if (active(d, s)) {
        if (v === undefined || !d.values.includes(v)) throw new TsnasError('usage', `toy: ${d.label} must be one of ${d.values.join(', ')}, got ${String(v)}`);
      } else if (v !== undefined) {
        throw new TsnasError('usage', `toy: ${d.label} is inactive but set to ${v}`);
      }
    }
    for (const k of Object.keys(s)) if (!dims.some((d) => d.label === k)) throw new TsnasError('usage', `toy: unknown label ${k}`);
  }
  sample(rng: Rng): Sample {
    return complete({}, (d) => rng.choice(d.values));
  }
  mutate(s: Sample, rng: Rng): Sample {
    const candidates = dims.filter((d) => active(d, s));
    const d = rng.choice(candidates);
    const others = d.values.filter((v) => v !== s[d.label]);
    return complete({ ...s, [d.label]: rng.choice(others) }, (x) => rng.choice(x.values));
  }
  crossover(a: Sample, b: Sample, rng: Rng, _kind?: CrossoverKind): Sample {
    const mixed: Record<string, Value> = {};
    for (const d of dims) {
      const pick = rng.next() < 0.5 ? a : b;
      const v = pick[d.label] ?? a[d.label] ?? b[d.label];
      if (v !== undefined) mixed[d.label] = v;
    }
    return complete(mixed, (x) => rng.choice(x.values));
  }
  neighbours(s: Sample): Sample[] {
    const out: Sample[] = [];
    for (const d of dims) {
      if (!active(d, s)) continue;
      for (const v of d.values) if (v !== s[d.label]) out.push(complete({ ...s, [d.label]: v }, (x) => x.values[0]!));
    }
    return out;
  }
  hash(s: Sample): string {
    return this.format(s);
  }
  format(s: Sample): string {
    return dims.filter((d) => s[d.label] !== undefined).map((d) => `${d.label}=${s[d.label]}`).join(',');
  }
  parse(text: string): Sample {
    const out: Record<string, Value> = {};
    for (const part of text.split(',')) {
      const [k, v] = part.split('=');
      const d = dims.find((x) => x.label === k);
      if (!d || v === undefined) throw new TsnasError('usage', `toy: cannot parse '${part}'`);
      out[k!] = d.kind === 'integer' ? Number(v) : v;
    }
    this.validate(out);
    return out;
  }
  encode(s: Sample, _kind: EncodingKind): number[] {
    const out: number[] = [];
    for (const d of dims) for (const v of d.values) out.push(s[d.label] === v ? 1 : 0);
    return out;
  }
}

/** Deterministic synthetic results: a smooth landscape whose optimum is op=c,c,c, depth 3, width 16. */
export function toyObjectives(s: Sample): Objectives {
  const opScore: Record<string, number> = { a: 0, b: 1.5, c: 3, d: 2 };
  let accuracy = 80;
  for (const k of ['op0', 'op1', 'op2']) accuracy += opScore[s[k] as string]!;
  const depth = Number(s['depth']);
  const width = Number(s['width'] ?? 4);
  accuracy += depth * 0.8 + (width === 16 ? 0.5 : 0);
  // Interactions, so the landscape is not separable.
  if (s['op0'] === s['op1']) accuracy += 0.3;
  if (s['op2'] === 'd' && depth === 3) accuracy += 0.9;
  const params = depth * width * 1000 + (s['op0'] === 'c' ? 500 : 0) + 100;
  return { accuracy, params, flops: params * 10 };
}

/** Every sample of the toy space (4³ op triples at depth 1, and at depths 2 and 3 with each width). */
export function allToySamples(): Sample[] {
  const out: Sample[] = [];
  for (const a of ['a', 'b', 'c', 'd']) for (const b of ['a', 'b', 'c', 'd']) for (const c of ['a', 'b', 'c', 'd']) {
    out.push({ op0: a, op1: b, op2: c, depth: 1 });
    for (const depth of [2, 3]) for (const width of [8, 16]) out.push({ op0: a, op1: b, op2: c, depth, width });
  }
  return out;
}
