// 2-d max and average pooling for float32 CPU tensors.
//
// Max pooling without libtorch's int64 index
// tensor: without a graph the forward computes maxima only; with one it
// records each output's winning window position in one byte, found in
// libtorch's scan order (row-major, first maximum wins, a NaN wins), so
// gradients equal libtorch's.
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <limits>
#include <vector>

#include "common.h"
#include "kernels.h"

namespace tsnas {

std::atomic<bool> g_nativeMaxPool{true};
std::atomic<bool> g_nativeAvgPool{true};

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct PoolParams {
  int64_t kh, kw, sh, sw, ph, pw;
};

// Windows as taps over the phase layout of kernels.h, padded with -inf (so
// padding never wins), like the depthwise convolution's loops.
struct PoolFlat {
  int64_t planes, H, W, OH, OW, K;
  PoolParams p;
  PhaseLayout layout;
  int64_t L;  // flat output length OH * Wq
  std::vector<int64_t> src;  // per tap: offset in the phase buffer
};

PoolFlat MakePoolFlat(const at::Tensor& x, const PoolParams& p) {
  const int64_t H = x.size(2), W = x.size(3);
  const int64_t OH = (H + 2 * p.ph - p.kh) / p.sh + 1, OW = (W + 2 * p.pw - p.kw) / p.sw + 1;
  PoolFlat f{x.size(0) * x.size(1), H, W, OH, OW, p.kh * p.kw, p, PhaseLayout(H, W, p.sh, p.sw, p.ph, p.pw, (p.kw - 1) / p.sw), 0, {}};
  f.L = OH * f.layout.Wq;
  for (int64_t kh = 0; kh < p.kh; kh++)
    for (int64_t kw = 0; kw < p.kw; kw++) f.src.push_back(f.layout.PhaseOf(kh, kw) * f.layout.PS + f.layout.OffsetOf(kh, kw));
  return f;
}

int64_t PoolGrain(const PoolFlat& f) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, f.L * f.K)); }

constexpr uint8_t kNoTap = 255;

// Running maximum over taps in libtorch's scan order (kh-major, first
// maximum wins, a NaN always wins); tap (when not null) records the winner.
// (Taps are int32 here, the width of a float, so that the loop vectorises.)
TSNAS_CLONES void MaxTaps(float* __restrict m, int32_t* __restrict tap, int64_t n, const float* phases, const int64_t* src,
                          int64_t count) {
  std::fill(m, m + n, -std::numeric_limits<float>::infinity());
  if (tap) std::fill(tap, tap + n, kNoTap);
  for (int64_t k = 0; k < count; k++) {
    const float* __restrict s = phases + src[k];
    if (tap) {
      const int32_t kk = static_cast<int32_t>(k);
#pragma omp simd
      for (int64_t j = 0; j < n; j++) {
        const float v = s[j];
        const bool take = v > m[j] || v != v;
        m[j] = take ? v : m[j];
        tap[j] = take ? kk : tap[j];
      }
    } else {
#pragma omp simd
      for (int64_t j = 0; j < n; j++) {
        const float v = s[j];
        m[j] = (v > m[j] || v != v) ? v : m[j];
      }
    }
  }
}

// Routes each output's gradient to its window's winning tap. Taps run in
// reverse, so that every input pixel receives its windows' gradients in
// output order, as libtorch adds them: the sums round identically.
TSNAS_CLONES void ScatterTaps(float* gradPhases, const float* __restrict g, const int32_t* __restrict tap, int64_t n,
                              const int64_t* src, int64_t count) {
  for (int64_t k = count - 1; k >= 0; k--) {
    float* __restrict d = gradPhases + src[k];
    const int32_t kk = static_cast<int32_t>(k);
#pragma omp simd
    for (int64_t j = 0; j < n; j++) d[j] += tap[j] == kk ? g[j] : 0.f;
  }
}

// dst[j] += src[k][j], one source after another in the order given (so
// that sums round as libtorch's sequential window loops do); four sources
// per pass, added left to right.
TSNAS_CLONES void AddTaps(float* __restrict dst, int64_t n, const float* const* src, int64_t count) {
  int64_t k = 0;
  for (; k + 4 <= count; k += 4) {
    const float* __restrict s0 = src[k];
    const float* __restrict s1 = src[k + 1];
    const float* __restrict s2 = src[k + 2];
    const float* __restrict s3 = src[k + 3];
#pragma omp simd
    for (int64_t j = 0; j < n; j++) dst[j] = dst[j] + s0[j] + s1[j] + s2[j] + s3[j];
  }
  for (; k < count; k++) {
    const float* __restrict s0 = src[k];
#pragma omp simd
    for (int64_t j = 0; j < n; j++) dst[j] += s0[j];
  }
}

// A window with no winner holds only -inf (or padding): libtorch then
// names its first in-bounds pixel.
uint8_t FirstValidTap(int64_t oh, int64_t ow, const PoolFlat& f) {
  const int64_t kh = std::max<int64_t>(0, f.p.ph - oh * f.p.sh), kw = std::max<int64_t>(0, f.p.pw - ow * f.p.sw);
  return static_cast<uint8_t>(kh * f.p.kw + kw);
}

struct PoolScratch {
  std::vector<float> phases, m;
  std::vector<int32_t> tap;
};

// taps (when not null) receives the winning tap of every output, [OH, OW].
at::Tensor PoolForwardRaw(const at::Tensor& xIn, const PoolParams& p, at::Tensor* taps) {
  at::Tensor x = xIn.contiguous();
  const PoolFlat f = MakePoolFlat(x, p);
  at::Tensor out = at::empty({x.size(0), x.size(1), f.OH, f.OW}, x.options());
  if (taps) *taps = at::empty({x.size(0), x.size(1), f.OH, f.OW}, x.options().dtype(at::kByte));
  const float* xp = x.data_ptr<float>();
  float* op = out.data_ptr<float>();
  uint8_t* tp = taps ? taps->data_ptr<uint8_t>() : nullptr;
  const int64_t Wq = f.layout.Wq;
  at::parallel_for(0, f.planes, PoolGrain(f), [&](int64_t begin, int64_t end) {
    PoolScratch s;
    s.phases.resize(f.layout.Phases() * f.layout.PS);
    s.m.resize(f.L);
    if (tp) s.tap.resize(f.L);
    for (int64_t plane = begin; plane < end; plane++) {
      f.layout.ToPhases(xp + plane * f.H * f.W, s.phases.data(), -std::numeric_limits<float>::infinity());
      MaxTaps(s.m.data(), tp ? s.tap.data() : nullptr, f.L, s.phases.data(), f.src.data(), f.K);
      float* o = op + plane * f.OH * f.OW;
      for (int64_t oh = 0; oh < f.OH; oh++) std::copy(&s.m[oh * Wq], &s.m[oh * Wq] + f.OW, o + oh * f.OW);
      if (!tp) continue;
      uint8_t* t = tp + plane * f.OH * f.OW;
      for (int64_t oh = 0; oh < f.OH; oh++) {
        for (int64_t ow = 0; ow < f.OW; ow++) {
          const int32_t k = s.tap[oh * Wq + ow];
          t[oh * f.OW + ow] = k == kNoTap ? FirstValidTap(oh, ow, f) : static_cast<uint8_t>(k);
        }
      }
    }
  });
  return out;
}

at::Tensor PoolBackwardRaw(const at::Tensor& goIn, const at::Tensor& x, const at::Tensor& taps, const PoolParams& p) {
  at::Tensor go = goIn.contiguous();
  const PoolFlat f = MakePoolFlat(x, p);
  at::Tensor gi = at::empty(x.sizes(), x.options().memory_format(at::MemoryFormat::Contiguous));
  const float* gop = go.data_ptr<float>();
  const uint8_t* tp = taps.data_ptr<uint8_t>();
  float* gip = gi.data_ptr<float>();
  const int64_t Wq = f.layout.Wq;
  at::parallel_for(0, f.planes, PoolGrain(f), [&](int64_t begin, int64_t end) {
    std::vector<float> gradPhases(f.layout.Phases() * f.layout.PS), g(f.L);
    std::vector<int32_t> tap(f.L, kNoTap);
    for (int64_t plane = begin; plane < end; plane++) {
      // Scratch columns carry a zero gradient, so whichever tap they name adds nothing.
      std::fill(g.begin(), g.end(), 0.f);
      for (int64_t oh = 0; oh < f.OH; oh++) {
        std::copy(gop + plane * f.OH * f.OW + oh * f.OW, gop + plane * f.OH * f.OW + (oh + 1) * f.OW, &g[oh * Wq]);
        const uint8_t* t = tp + plane * f.OH * f.OW + oh * f.OW;
        for (int64_t ow = 0; ow < f.OW; ow++) tap[oh * Wq + ow] = t[ow];
      }
      std::fill(gradPhases.begin(), gradPhases.end(), 0.f);
      ScatterTaps(gradPhases.data(), g.data(), tap.data(), f.L, f.src.data(), f.K);
      f.layout.FromPhases(gradPhases.data(), gip + plane * f.H * f.W);
    }
  });
  return gi;
}

class MaxPoolFunction : public torch::autograd::Function<MaxPoolFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, PoolParams p) {
    at::Tensor taps;
    at::Tensor out = PoolForwardRaw(x, p, &taps);
    ctx->save_for_backward({x, taps});
    ctx->saved_data["p"] = std::vector<int64_t>{p.kh, p.kw, p.sh, p.sw, p.ph, p.pw};
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    std::vector<int64_t> v = ctx->saved_data["p"].toIntVector();
    PoolParams p{v[0], v[1], v[2], v[3], v[4], v[5]};
    const at::Tensor& go = grads[0];
    if (!go.defined() || !ctx->needs_input_grad(0)) return {at::Tensor(), at::Tensor()};
    if (at::GradMode::is_enabled()) {
      // create_graph: libtorch's backward with indices is differentiable in the output gradient.
      auto withIndices = at::max_pool2d_with_indices(x.detach(), {p.kh, p.kw}, {p.sh, p.sw}, {p.ph, p.pw}, {1, 1}, false);
      return {at::max_pool2d_with_indices_backward(go, x, {p.kh, p.kw}, {p.sh, p.sw}, {p.ph, p.pw}, {1, 1}, false,
                                                   std::get<1>(withIndices)),
              at::Tensor()};
    }
    return {PoolBackwardRaw(go, x, saved[1], p), at::Tensor()};
  }
};

// The divisor of every output of an average pool is separable:
// (rows counted) * (columns counted), so two small tables give it.
std::vector<float> Counts(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, bool includePad) {
  std::vector<float> c(out);
  for (int64_t o = 0; o < out; o++) {
    const int64_t start = o * s - p, end = std::min(start + k, in + p);
    c[o] = static_cast<float>(includePad ? end - start : std::min(end, in) - std::max<int64_t>(start, 0));
  }
  return c;
}

struct AvgScratch {
  std::vector<float> phases, acc;
  std::vector<const float*> src;
};

at::Tensor AvgForwardRaw(const at::Tensor& xIn, const PoolParams& p, bool includePad) {
  at::Tensor x = xIn.contiguous();
  const PoolFlat f = MakePoolFlat(x, p);
  at::Tensor out = at::empty({x.size(0), x.size(1), f.OH, f.OW}, x.options());
  const std::vector<float> rows = Counts(f.H, f.OH, p.kh, p.sh, p.ph, includePad), cols = Counts(f.W, f.OW, p.kw, p.sw, p.pw, includePad);
  const float* xp = x.data_ptr<float>();
  float* op = out.data_ptr<float>();
  const int64_t Wq = f.layout.Wq;
  at::parallel_for(0, f.planes, PoolGrain(f), [&](int64_t begin, int64_t end) {
    AvgScratch s;
    s.phases.resize(f.layout.Phases() * f.layout.PS);
    s.acc.resize(f.L);
    s.src.resize(f.K);
    for (int64_t k = 0; k < f.K; k++) s.src[k] = s.phases.data() + f.src[k];
    for (int64_t plane = begin; plane < end; plane++) {
      f.layout.ToPhases(xp + plane * f.H * f.W, s.phases.data(), 0.f);
      std::fill(s.acc.begin(), s.acc.end(), 0.f);
      // Window order, as libtorch sums (padding adds exact zeros).
      AddTaps(s.acc.data(), f.L, s.src.data(), f.K);
      float* o = op + plane * f.OH * f.OW;
      for (int64_t oh = 0; oh < f.OH; oh++)
        for (int64_t ow = 0; ow < f.OW; ow++) o[oh * f.OW + ow] = s.acc[oh * Wq + ow] / (rows[oh] * cols[ow]);
    }
  });
  return out;
}

// The input gradient: each output's share (gradient / divisor) summed back
// over its window, in gather form phase by phase.
at::Tensor AvgBackwardRaw(const at::Tensor& goIn, at::IntArrayRef inputSizes, const PoolParams& p, bool includePad) {
  at::Tensor go = goIn.contiguous();
  at::Tensor gi = at::empty(inputSizes, go.options().memory_format(at::MemoryFormat::Contiguous));
  const PoolFlat f = MakePoolFlat(gi, p);
  const std::vector<float> rows = Counts(f.H, f.OH, p.kh, p.sh, p.ph, includePad), cols = Counts(f.W, f.OW, p.kw, p.sw, p.pw, includePad);
  int64_t front = 0;  // the largest within-phase tap offset
  for (int64_t k = 0; k < f.K; k++) front = std::max(front, f.src[k] % f.layout.PS);
  const float* gop = go.data_ptr<float>();
  float* gip = gi.data_ptr<float>();
  const int64_t Wq = f.layout.Wq, HqWq = f.layout.Hq * f.layout.Wq;
  at::parallel_for(0, f.planes, PoolGrain(f), [&](int64_t begin, int64_t end) {
    std::vector<float> gradPhases(f.layout.Phases() * f.layout.PS), gbuf(front + HqWq);
    std::vector<const float*> src(f.K);
    float* g = gbuf.data() + front;
    for (int64_t plane = begin; plane < end; plane++) {
      std::fill(gbuf.begin(), gbuf.end(), 0.f);
      const float* gor = gop + plane * f.OH * f.OW;
      for (int64_t oh = 0; oh < f.OH; oh++)
        for (int64_t ow = 0; ow < f.OW; ow++) g[oh * Wq + ow] = gor[oh * f.OW + ow] / (rows[oh] * cols[ow]);
      std::fill(gradPhases.begin(), gradPhases.end(), 0.f);
      for (int64_t ph = 0; ph < f.layout.Phases(); ph++) {
        // Taps in reverse: each input pixel then receives its windows' shares in output order, as in libtorch.
        int64_t count = 0;
        for (int64_t k = f.K - 1; k >= 0; k--)
          if (f.src[k] / f.layout.PS == ph) src[count++] = g - f.src[k] % f.layout.PS;
        if (count > 0) AddTaps(gradPhases.data() + ph * f.layout.PS, HqWq, src.data(), count);
      }
      f.layout.FromPhases(gradPhases.data(), gip + plane * f.H * f.W);
    }
  });
  return gi;
}

class AvgPoolFunction : public torch::autograd::Function<AvgPoolFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, PoolParams p, bool includePad) {
    ctx->saved_data["p"] = std::vector<int64_t>{p.kh, p.kw, p.sh, p.sw, p.ph, p.pw, includePad ? 1 : 0};
    ctx->saved_data["sizes"] = x.sizes().vec();
    return AvgForwardRaw(x, p, includePad);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    std::vector<int64_t> v = ctx->saved_data["p"].toIntVector();
    std::vector<int64_t> sizes = ctx->saved_data["sizes"].toIntVector();
    PoolParams p{v[0], v[1], v[2], v[3], v[4], v[5]};
    const bool includePad = v[6] != 0;
    const at::Tensor& go = grads[0];
    if (!go.defined() || !ctx->needs_input_grad(0)) return {at::Tensor(), at::Tensor(), at::Tensor()};
    if (at::GradMode::is_enabled()) {
      // create_graph: libtorch's backward is differentiable in the output gradient (the input only gives the shape).
      return {at::avg_pool2d_backward(go, at::zeros(sizes, go.options()), {p.kh, p.kw}, {p.sh, p.sw}, {p.ph, p.pw}, false,
                                      includePad, c10::nullopt),
              at::Tensor(), at::Tensor()};
    }
    return {AvgBackwardRaw(go, sizes, p, includePad), at::Tensor(), at::Tensor()};
  }
};

PoolParams MakePoolParams(at::IntArrayRef kernel, at::IntArrayRef stride, at::IntArrayRef padding) {
  auto first = [](at::IntArrayRef v, int64_t fallback) { return v.empty() ? fallback : v[0]; };
  auto second = [](at::IntArrayRef v, int64_t fallback) { return v.empty() ? fallback : v[v.size() - 1]; };
  const int64_t kh = first(kernel, 1), kw = second(kernel, 1);
  return PoolParams{kh, kw, first(stride, kh), second(stride, kw), first(padding, 0), second(padding, 0)};
}

}  // namespace

// The shapes both native pools take; the rest (bad sizes, padding over half
// the kernel) is left to libtorch and its messages.
bool PoolEligible(const at::Tensor& x, at::IntArrayRef kernel, at::IntArrayRef stride, at::IntArrayRef padding, bool ceilMode) {
  if (ceilMode || x.dim() != 4 || !x.device().is_cpu() || x.scalar_type() != at::kFloat || x.is_mkldnn() || x.is_sparse())
    return false;
  auto sizeOk = [](at::IntArrayRef v) { return v.size() == 1 || v.size() == 2; };
  if (!sizeOk(kernel) || !(stride.empty() || sizeOk(stride)) || !sizeOk(padding)) return false;
  PoolParams p = MakePoolParams(kernel, stride, padding);
  if (p.kh < 1 || p.kw < 1 || p.sh < 1 || p.sw < 1 || p.ph < 0 || p.pw < 0 || 2 * p.ph > p.kh || 2 * p.pw > p.kw) return false;
  if (x.size(2) + 2 * p.ph < p.kh || x.size(3) + 2 * p.pw < p.kw) return false;
  // (Max pooling stores winning taps in one byte.)
  return p.kh * p.kw < 255 && x.numel() > 0;
}

bool MaxPoolEligible(const at::Tensor& x, at::IntArrayRef kernel, at::IntArrayRef stride, at::IntArrayRef padding,
                     at::IntArrayRef dilation, bool ceilMode) {
  if (!g_nativeMaxPool.load(std::memory_order_relaxed) || dilation.size() < 1 || dilation.size() > 2) return false;
  for (int64_t d : dilation)
    if (d != 1) return false;
  return PoolEligible(x, kernel, stride, padding, ceilMode);
}

bool AvgPoolEligible(const at::Tensor& x, at::IntArrayRef kernel, at::IntArrayRef stride, at::IntArrayRef padding, bool ceilMode) {
  return g_nativeAvgPool.load(std::memory_order_relaxed) && PoolEligible(x, kernel, stride, padding, ceilMode);
}

at::Tensor AvgPool2d(const at::Tensor& x, at::IntArrayRef kernel, at::IntArrayRef stride, at::IntArrayRef padding,
                     bool countIncludePad) {
  PoolParams p = MakePoolParams(kernel, stride, padding);
  if (!at::GradMode::is_enabled() || !x.requires_grad()) return AvgForwardRaw(x, p, countIncludePad);
  return AvgPoolFunction::apply(x, p, countIncludePad);
}

at::Tensor MaxPool2d(const at::Tensor& x, at::IntArrayRef kernel, at::IntArrayRef stride, at::IntArrayRef padding) {
  PoolParams p = MakePoolParams(kernel, stride, padding);
  if (!at::GradMode::is_enabled() || !x.requires_grad()) return PoolForwardRaw(x, p, nullptr);
  return MaxPoolFunction::apply(x, p);
}

}  // namespace tsnas
