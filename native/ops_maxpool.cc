// 2-d max pooling for float32 CPU tensors that keeps no index tensor:
// the forward computes maxima only (libtorch's max_pool2d_with_indices
// also writes an int64 index per output), and the backward recomputes each
// window's argmax from the saved input, scanning windows in libtorch's
// order (row-major, first maximum wins, NaN wins) so gradients are equal.
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <limits>
#include <vector>

#include "common.h"
#include "kernels.h"

namespace tsnas {

std::atomic<bool> g_nativeMaxPool{true};

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct PoolParams {
  int64_t kh, kw, sh, sw, ph, pw;
};

struct PoolGeometry {
  int64_t planes, H, W, OH, OW;
  PoolParams p;
};

struct PoolTap {
  int64_t oh0, oh1, ow0, ow1, base;
};

PoolGeometry MakePoolGeometry(const at::Tensor& x, const PoolParams& p) {
  PoolGeometry g{};
  g.planes = x.size(0) * x.size(1);
  g.H = x.size(2);
  g.W = x.size(3);
  g.OH = (g.H + 2 * p.ph - p.kh) / p.sh + 1;
  g.OW = (g.W + 2 * p.pw - p.kw) / p.sw + 1;
  g.p = p;
  return g;
}

std::vector<PoolTap> PoolTaps(const PoolGeometry& g) {
  std::vector<PoolTap> taps(g.p.kh * g.p.kw);
  for (int64_t kh = 0; kh < g.p.kh; kh++) {
    int64_t oh0, oh1, ow0, ow1;
    OutputRange(g.H, g.OH, g.p.sh, g.p.ph, kh, &oh0, &oh1);
    for (int64_t kw = 0; kw < g.p.kw; kw++) {
      OutputRange(g.W, g.OW, g.p.sw, g.p.pw, kw, &ow0, &ow1);
      taps[kh * g.p.kw + kw] = PoolTap{oh0, oh1, ow0, ow1, (kh - g.p.ph) * g.W + (kw - g.p.pw)};
    }
  }
  return taps;
}

int64_t PoolGrain(const PoolGeometry& g) {
  return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, g.OH * g.OW * g.p.kh * g.p.kw));
}

// Taps are visited kh-major, then kw, and rows inside a tap, so each output
// sees its window in libtorch's scan order.
void MaxPlane(const float* x, float* out, const PoolGeometry& g, const std::vector<PoolTap>& taps) {
  std::fill(out, out + g.OH * g.OW, -std::numeric_limits<float>::infinity());
  const int64_t rowStep = g.p.sh * g.W, sw = g.p.sw;
  for (const PoolTap& t : taps) {
    for (int64_t oh = t.oh0; oh < t.oh1; oh++) {
      float* o = out + oh * g.OW;
      const int64_t r = oh * rowStep + t.base;
#pragma omp simd
      for (int64_t ow = t.ow0; ow < t.ow1; ow++) {
        const float v = x[r + ow * sw];
        o[ow] = (v > o[ow] || v != v) ? v : o[ow];
      }
    }
  }
}

// The input index (within the plane) of each output's maximum; m is scratch.
void ArgmaxPlane(const float* x, float* m, int32_t* arg, const PoolGeometry& g, const std::vector<PoolTap>& taps) {
  const int64_t n = g.OH * g.OW;
  std::fill(m, m + n, -std::numeric_limits<float>::infinity());
  std::fill(arg, arg + n, -1);
  const int64_t rowStep = g.p.sh * g.W, sw = g.p.sw;
  for (const PoolTap& t : taps) {
    for (int64_t oh = t.oh0; oh < t.oh1; oh++) {
      float* mo = m + oh * g.OW;
      int32_t* ao = arg + oh * g.OW;
      const int64_t r = oh * rowStep + t.base;
#pragma omp simd
      for (int64_t ow = t.ow0; ow < t.ow1; ow++) {
        const float v = x[r + ow * sw];
        const bool take = v > mo[ow] || v != v || ao[ow] < 0;
        mo[ow] = take ? v : mo[ow];
        ao[ow] = take ? static_cast<int32_t>(r + ow * sw) : ao[ow];
      }
    }
  }
}

at::Tensor PoolForwardRaw(const at::Tensor& xIn, const PoolParams& p) {
  at::Tensor x = xIn.contiguous();
  PoolGeometry g = MakePoolGeometry(x, p);
  at::Tensor out = at::empty({x.size(0), x.size(1), g.OH, g.OW}, x.options());
  const float* xp = x.data_ptr<float>();
  float* op = out.data_ptr<float>();
  const std::vector<PoolTap> taps = PoolTaps(g);
  at::parallel_for(0, g.planes, PoolGrain(g), [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; plane++) MaxPlane(xp + plane * g.H * g.W, op + plane * g.OH * g.OW, g, taps);
  });
  return out;
}

at::Tensor PoolBackwardRaw(const at::Tensor& goIn, const at::Tensor& xIn, const PoolParams& p) {
  at::Tensor x = xIn.contiguous(), go = goIn.contiguous();
  PoolGeometry g = MakePoolGeometry(x, p);
  at::Tensor gi = at::zeros_like(x);
  const float* xp = x.data_ptr<float>();
  const float* gop = go.data_ptr<float>();
  float* gip = gi.data_ptr<float>();
  const std::vector<PoolTap> taps = PoolTaps(g);
  const int64_t n = g.OH * g.OW;
  at::parallel_for(0, g.planes, PoolGrain(g), [&](int64_t begin, int64_t end) {
    std::vector<float> m(n);
    std::vector<int32_t> arg(n);
    for (int64_t plane = begin; plane < end; plane++) {
      ArgmaxPlane(xp + plane * g.H * g.W, m.data(), arg.data(), g, taps);
      const float* gor = gop + plane * n;
      float* gir = gip + plane * g.H * g.W;
      for (int64_t j = 0; j < n; j++) gir[arg[j]] += gor[j];
    }
  });
  return gi;
}

class MaxPoolFunction : public torch::autograd::Function<MaxPoolFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, PoolParams p) {
    ctx->save_for_backward({x});
    ctx->saved_data["p"] = std::vector<int64_t>{p.kh, p.kw, p.sh, p.sw, p.ph, p.pw};
    return PoolForwardRaw(x, p);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor x = ctx->get_saved_variables()[0];
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
    return {PoolBackwardRaw(go, x, p), at::Tensor()};
  }
};

PoolParams MakePoolParams(at::IntArrayRef kernel, at::IntArrayRef stride, at::IntArrayRef padding) {
  auto first = [](at::IntArrayRef v, int64_t fallback) { return v.empty() ? fallback : v[0]; };
  auto second = [](at::IntArrayRef v, int64_t fallback) { return v.empty() ? fallback : v[v.size() - 1]; };
  const int64_t kh = first(kernel, 1), kw = second(kernel, 1);
  return PoolParams{kh, kw, first(stride, kh), second(stride, kw), first(padding, 0), second(padding, 0)};
}

}  // namespace

bool MaxPoolEligible(const at::Tensor& x, at::IntArrayRef kernel, at::IntArrayRef stride, at::IntArrayRef padding,
                     at::IntArrayRef dilation, bool ceilMode) {
  if (!g_nativeMaxPool.load(std::memory_order_relaxed) || ceilMode || x.dim() != 4 || !x.device().is_cpu() ||
      x.scalar_type() != at::kFloat || x.is_mkldnn() || x.is_sparse())
    return false;
  auto sizeOk = [](at::IntArrayRef v) { return v.size() == 1 || v.size() == 2; };
  if (!sizeOk(kernel) || !(stride.empty() || sizeOk(stride)) || !sizeOk(padding) || !sizeOk(dilation)) return false;
  for (int64_t d : dilation)
    if (d != 1) return false;
  PoolParams p = MakePoolParams(kernel, stride, padding);
  // The rest (bad sizes, padding over half the kernel) is left to libtorch and its messages.
  if (p.kh < 1 || p.kw < 1 || p.sh < 1 || p.sw < 1 || p.ph < 0 || p.pw < 0 || 2 * p.ph > p.kh || 2 * p.pw > p.kw) return false;
  if (x.size(2) + 2 * p.ph < p.kh || x.size(3) + 2 * p.pw < p.kw) return false;
  // Argmax indices are int32 within one plane.
  return x.size(2) * x.size(3) < (int64_t{1} << 31) && x.numel() > 0;
}

at::Tensor MaxPool2d(const at::Tensor& x, at::IntArrayRef kernel, at::IntArrayRef stride, at::IntArrayRef padding) {
  PoolParams p = MakePoolParams(kernel, stride, padding);
  if (!at::GradMode::is_enabled() || !x.requires_grad()) return PoolForwardRaw(x, p);
  return MaxPoolFunction::apply(x, p);
}

}  // namespace tsnas
