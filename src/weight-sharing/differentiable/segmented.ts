// Segmented backward with faster depthwise-convolution gradients.
//
// libtorch's CPU backward of depthwise (and dilated) convolutions takes a
// slow generic path, ~10x its forward. Both gradients are convolutions
// that run on the fast forward path:
//   ∂x = depthwise conv of the output gradient with the flipped kernel
//        (stride 1, padding d(k−1)−p, same dilation);
//   ∂w = a grouped conv of the padded input (channels×batch as channels)
//        with the output gradient as the kernel, stride = the dilation.
// The addon has no custom autograd functions, so the tape cuts the graph:
// a depthwise conv runs without a graph and its output becomes a fresh leaf;
// cell states are cut too, so that each piece of the graph is small. The
// backward then walks the pieces in reverse order of creation, each
// `source.backward(grad of its leaf)` accumulating into the parameters and
// into earlier leaves; at a depthwise cut the two convolutions above give
// the input gradient (passed on) and the weight gradient (accumulated).
// Results equal plain autograd's up to float rounding (tested).
import { Conv2d } from '../../nn/layers.js';
import type { AnyModule } from '../../nn/module.js';
import { conv2d, isGradEnabled, noGrad, pad, tidy, zeros, type Tensor } from '../../tensor/index.js';

interface Cut {
  leaf: Tensor;
  /** Graph tensor the leaf stands for (plain cut) or the depthwise conv's input. */
  source: Tensor;
  conv?: Conv2d;
}

type ConvForward = (x: Tensor) => Tensor;

export class SegmentedTape {
  #cuts: Cut[] = [];
  #active = false;
  readonly #restore: (() => void)[] = [];

  /** Patches every depthwise conv of net so that, while recording, its output is a cut. */
  constructor(net: AnyModule) {
    for (const m of net.modules()) {
      if (!(m instanceof Conv2d)) continue;
      const conv = m as Conv2d & { forward: ConvForward };
      const o = conv as unknown as { inChannels: number; outChannels: number; groups: number; stride: [number, number]; bias: Tensor | null };
      if (!(o.groups > 1 && o.groups === o.inChannels && o.groups === o.outChannels && !o.bias)) continue;
      const original = conv.forward;
      conv.forward = (x: Tensor) => (this.#active && isGradEnabled() ? this.#depthwise(conv, x) : original.call(conv, x));
      this.#restore.push(() => {
        conv.forward = original;
      });
    }
  }

  get recording(): boolean {
    return this.#active;
  }

  #depthwise(conv: Conv2d, x: Tensor): Tensor {
    const c = conv as unknown as { weight: Tensor; stride: [number, number]; padding: [number, number]; dilation: [number, number]; groups: number };
    const y = noGrad(() => conv2d(x, c.weight, null, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups }));
    y.requiresGrad = true;
    // The tape owns leaf and source until its backward is done (forward code may run in inner scopes).
    this.#cuts.push({ leaf: y.keep(), source: x.keep(), conv });
    return y;
  }

  /** While recording: a leaf standing for t (its gradient is passed on to t's graph in backward). */
  cut(t: Tensor): Tensor {
    if (!this.#active || !t.requiresGrad) return t;
    const leaf = t.detach();
    leaf.requiresGrad = true;
    this.#cuts.push({ leaf: leaf.keep(), source: t.keep() });
    return leaf;
  }

  /**
   * Runs forward() recording cuts, then the backward of its scalar result,
   * accumulating into .grad of every leaf that requires grad. Returns the
   * forward's result (call inside tidy).
   */
  run<T extends { loss: Tensor }>(forward: () => T): T {
    this.#cuts = [];
    this.#active = true;
    try {
      let out: T;
      try {
        out = forward();
      } finally {
        this.#active = false;
      }
      // Pieces share nodes (the softmax of α feeds every cell), so graphs are kept until the scope ends.
      out.loss.backward(null, { retainGraph: true });
      for (let i = this.#cuts.length - 1; i >= 0; i--) {
        const cut = this.#cuts[i]!;
        const g = cut.leaf.grad;
        if (!g) continue;
        if (!cut.conv) {
          if (cut.source.requiresGrad) cut.source.backward(g, { retainGraph: true });
        } else {
          this.#depthwiseBackward(cut.conv, cut.source, g);
        }
        g.dispose();
      }
      return out;
    } finally {
      for (const cut of this.#cuts) {
        cut.leaf.dispose();
        cut.source.dispose();
      }
      this.#cuts = [];
    }
  }

  #depthwiseBackward(conv: Conv2d, x: Tensor, g: Tensor): void {
    const c = conv as unknown as { weight: Tensor; stride: [number, number]; padding: [number, number]; dilation: [number, number]; groups: number };
    const w = c.weight;
    const [kh, kw] = w.shape.slice(2) as [number, number];
    const [sh, sw] = c.stride;
    const [ph, pw] = c.padding;
    const [dh, dw] = c.dilation;
    const [n, ch, h, wd] = x.shape as [number, number, number, number];
    tidy(() => {
      const inputGrad = x.requiresGrad
        ? noGrad(() => {
          // A strided conv's input gradient sees the output gradient with stride−1 zeros between samples.
          let up = g;
          if (sh > 1 || sw > 1) {
            up = zeros([n, ch, sh * (g.size(2) - 1) + 1, sw * (g.size(3) - 1) + 1]);
            up.slice(2, 0, up.size(2), sh).slice(3, 0, up.size(3), sw).copy_(g);
          }
          // Full correlation with the flipped kernel, padded (or trimmed) so that the result has the input's size.
          const before = [dh * (kh - 1) - ph, dw * (kw - 1) - pw] as const;
          const after = [h + dh * (kh - 1) - up.size(2) - before[0], wd + dw * (kw - 1) - up.size(3) - before[1]] as const;
          const trimmed = [0, 1].reduce((t, k) => {
            const dim = 2 + k;
            const lo = Math.max(0, -before[k]!);
            const hi = Math.max(0, -after[k]!);
            return lo || hi ? t.narrow(dim, lo, t.size(dim) - lo - hi) : t;
          }, up);
          const padded = pad(trimmed, [Math.max(0, before[1]), Math.max(0, after[1]), Math.max(0, before[0]), Math.max(0, after[0])]);
          return conv2d(padded, w.detach().flip(2, 3), null, { dilation: [dh, dw], groups: c.groups });
        })
        : null;
      if (w.requiresGrad) {
        noGrad(() => {
          // ∂w[c,i,j] = Σ g[n,c,y,x]·xpad[n,c,s·y+d·i, s·x+d·j]: a grouped conv of the padded input with g
          // as the kernel (dilated by the stride), stepping by the dilation.
          const xp = pad(x.detach(), [pw, pw, ph, ph]).transpose(0, 1).reshape(1, ch * n, h + 2 * ph, wd + 2 * pw);
          const kernel = g.transpose(0, 1).contiguous();
          const full = conv2d(xp, kernel, null, { stride: [dh, dw], dilation: [sh, sw], groups: ch });
          const gw = full.narrow(2, 0, kh).narrow(3, 0, kw).reshape(ch, 1, kh, kw);
          const prev = w.grad;
          if (prev) {
            prev.add_(gw);
            prev.dispose();
          } else {
            w.grad = gw;
          }
        });
      }
      if (inputGrad) x.backward(inputGrad, { retainGraph: true });
    });
  }

  dispose(): void {
    for (const r of this.#restore) r();
    this.#restore.length = 0;
  }
}
