// DrNAS (Chen et al., 2021): α parameterises a Dirichlet distribution over
// each edge's operation weights, concentration elu(α) + 1, and every forward
// pass mixes with a reparameterised sample from it.
//
// libtorch's Dirichlet sampler is not in the addon, so the sample is built
// from Gamma draws with a pathwise gradient: Marsaglia–Tsang's method at the
// boosted shape c + 1 (accepting the standard normal ε by the method's test
// on numbers), times U^(1/c) to come back to shape c (the shape augmentation
// of Naesseth et al., 2017). With ε and U held fixed each draw is a smooth
// function of c, so autograd gives the reparameterisation gradient; the
// small correction for the acceptance step is dropped, as in that paper.
import { noGrad, rand, randn, tensor, type Tensor } from '../../tensor/index.js';
import type { AlphaWeighting } from '../../spaces/supernet.js';

/** elu(α) + 1: positive, monotone in α (so α's argmax is the concentration's). */
export function dirichletConcentration(alpha: Tensor): Tensor {
  return alpha.relu().add(alpha.clamp(null, 0).exp());
}

/** Marsaglia–Tsang's accepted normal ε for Gamma(shape), shape >= 1, from candidate draws; null when all were rejected. */
function acceptedNormal(shape: number, normals: number[], uniforms: number[]): number | null {
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (let t = 0; t < normals.length; t++) {
    const e = normals[t]!;
    const v = (1 + c * e) ** 3;
    if (v > 0 && Math.log(uniforms[t]!) < 0.5 * e * e + d - d * v + d * Math.log(v)) return e;
  }
  return null;
}

const TRIES = 8;

/** One draw from Dirichlet(concentration) (1-D, positive), differentiable in the concentration. */
export function sampleDirichlet(concentration: Tensor): Tensor {
  const shapes = noGrad(() => concentration.detach().toArray());
  const n = shapes.length;
  const eps: (number | null)[] = new Array(n).fill(null);
  // Marsaglia–Tsang accepts over 95% of candidates at shape >= 1: a round of 8 almost always does.
  while (eps.some((e) => e === null)) {
    const normals = noGrad(() => randn([n, TRIES]).toArray());
    const uniforms = noGrad(() => rand([n, TRIES]).toArray());
    for (let i = 0; i < n; i++) {
      if (eps[i] === null) eps[i] = acceptedNormal(shapes[i]! + 1, normals.slice(i * TRIES, (i + 1) * TRIES), uniforms.slice(i * TRIES, (i + 1) * TRIES));
    }
  }
  const boost = rand([n]).clamp(1e-30, null);
  // Gamma(c + 1) = d·(1 + ε/√(9d))³ with d = c + 2/3; times U^(1/c) is Gamma(c).
  const d = concentration.add(2 / 3);
  const v = tensor(eps as number[]).div(d.mul(9).sqrt()).add(1).pow(3);
  const gamma = d.mul(v).mul(boost.log().div(concentration).exp()).clamp(1e-30, null);
  return gamma.div(gamma.sum());
}

/** DrNAS's weighting: a Dirichlet draw per forward; the recorded weights are the Dirichlet mean. */
export const DIRICHLET_WEIGHTING: AlphaWeighting = {
  forward: (alpha) => sampleDirichlet(dirichletConcentration(alpha)),
  mean: (alpha) => {
    const c = dirichletConcentration(alpha);
    return c.div(c.sum());
  },
};
