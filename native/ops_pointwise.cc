// 1x1 convolution (stride 1, no padding, one group) as direct loops for
// float32 CPU tensors with few channels. libtorch 1.13 hands these to
// oneDNN, which is slow at the 8-16 channels of a DARTS search network's
// first cells (2-3x slower than these loops, forward and backward, at batch
// 32 on 32x32 planes). Here each output plane is a weighted sum of the input
// planes (AccumulateTaps), the input gradient the same with the transposed
// weight, and the weight gradient dot products of planes (DotTaps).
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "common.h"
#include "kernels.h"

namespace tsnas {

// Off by default: its rounding differs from oneDNN's, and ill-conditioned
// quantities (zico's mean/std of gradients, fisher) then leave the PyTorch
// parity tolerances; searches opt in with setNativeKernels({ pointwise: true }).
std::atomic<bool> g_nativePointwise{false};

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Above this many input x output channel pairs libtorch's blocked kernels
// win (measured at 1 thread, batch 32: 8 -> 8 channels on 32x32 planes 3x
// faster than libtorch, 32 -> 16 on 32x32 1.1x, 32 -> 32 on 8x8 1.3x slower).
constexpr int64_t kMaxChannelPairs = 512;

struct Planes {
  int64_t N, Cin, Cout, HW;
};

Planes PlanesOf(const at::Tensor& x, const at::Tensor& w) { return {x.size(0), x.size(1), w.size(0), x.size(2) * x.size(3)}; }

// out[n, o] = sum_i w[o, i] * x[n, i] over planes of HW floats.
at::Tensor ForwardRaw(const at::Tensor& xIn, const at::Tensor& wIn) {
  at::Tensor x = xIn.contiguous(), w = wIn.contiguous();
  const Planes p = PlanesOf(x, w);
  at::Tensor out = at::empty({p.N, p.Cout, x.size(2), x.size(3)}, x.options());
  const float* xp = x.data_ptr<float>();
  const float* wp = w.data_ptr<float>();
  float* op = out.data_ptr<float>();
  at::parallel_for(0, p.N, 1, [&](int64_t begin, int64_t end) {
    std::vector<const float*> src(p.Cin);
    for (int64_t n = begin; n < end; n++) {
      for (int64_t i = 0; i < p.Cin; i++) src[i] = xp + (n * p.Cin + i) * p.HW;
      for (int64_t o = 0; o < p.Cout; o++) {
        float* dst = op + (n * p.Cout + o) * p.HW;
        std::fill(dst, dst + p.HW, 0.f);
        AccumulateTaps(dst, p.HW, src.data(), wp + o * p.Cin, p.Cin);
      }
    }
  });
  return out;
}

std::pair<at::Tensor, at::Tensor> BackwardRaw(const at::Tensor& goIn, const at::Tensor& xIn, const at::Tensor& wIn,
                                              bool needInput, bool needWeight) {
  at::Tensor x = xIn.contiguous(), w = wIn.contiguous(), go = goIn.contiguous();
  const Planes p = PlanesOf(x, w);
  at::Tensor gradInput, gradWeight;
  if (needInput) gradInput = at::empty_like(x);
  // w transposed: the input gradient's weights for input plane i are column i of w.
  std::vector<float> wt(p.Cin * p.Cout);
  const float* wp = w.data_ptr<float>();
  for (int64_t o = 0; o < p.Cout; o++)
    for (int64_t i = 0; i < p.Cin; i++) wt[i * p.Cout + o] = wp[o * p.Cin + i];
  // Per-sample weight-gradient sums, added over the batch in double afterwards.
  std::vector<float> partial(needWeight ? p.N * p.Cout * p.Cin : 0);
  const float* gop = go.data_ptr<float>();
  const float* xp = x.data_ptr<float>();
  float* gip = needInput ? gradInput.data_ptr<float>() : nullptr;
  at::parallel_for(0, p.N, 1, [&](int64_t begin, int64_t end) {
    std::vector<const float*> gsrc(p.Cout), xsrc(p.Cin);
    for (int64_t n = begin; n < end; n++) {
      for (int64_t o = 0; o < p.Cout; o++) gsrc[o] = gop + (n * p.Cout + o) * p.HW;
      if (gip) {
        for (int64_t i = 0; i < p.Cin; i++) {
          float* dst = gip + (n * p.Cin + i) * p.HW;
          std::fill(dst, dst + p.HW, 0.f);
          AccumulateTaps(dst, p.HW, gsrc.data(), &wt[i * p.Cout], p.Cout);
        }
      }
      if (needWeight) {
        for (int64_t i = 0; i < p.Cin; i++) xsrc[i] = xp + (n * p.Cin + i) * p.HW;
        for (int64_t o = 0; o < p.Cout; o++) DotTaps(gsrc[o], p.HW, xsrc.data(), &partial[(n * p.Cout + o) * p.Cin], p.Cin);
      }
    }
  });
  if (needWeight) {
    gradWeight = at::empty_like(w);
    float* gwp = gradWeight.data_ptr<float>();
    for (int64_t k = 0; k < p.Cout * p.Cin; k++) {
      double sum = 0;
      for (int64_t n = 0; n < p.N; n++) sum += partial[n * p.Cout * p.Cin + k];
      gwp[k] = static_cast<float>(sum);
    }
  }
  return {gradInput, gradWeight};
}

class PointwiseConvFunction : public torch::autograd::Function<PointwiseConvFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w) {
    ctx->save_for_backward({x, w});
    return ForwardRaw(x, w);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor& w = saved[1];
    const at::Tensor& go = grads[0];
    const bool needInput = ctx->needs_input_grad(0), needWeight = ctx->needs_input_grad(1);
    if (!go.defined()) return {at::Tensor(), at::Tensor()};
    if (at::GradMode::is_enabled()) {
      // create_graph: libtorch's convolution_backward records its own derivative.
      auto r = at::convolution_backward(go, x, w, c10::nullopt, {1, 1}, {0, 0}, {1, 1}, false, {0, 0}, 1,
                                        {needInput, needWeight, false});
      return {std::get<0>(r), std::get<1>(r)};
    }
    auto r = BackwardRaw(go, x, w, needInput, needWeight);
    return {r.first, r.second};
  }
};

bool AllEqual(at::IntArrayRef v, int64_t value) {
  return std::all_of(v.begin(), v.end(), [value](int64_t e) { return e == value; });
}

}  // namespace

bool PointwiseEligible(const at::Tensor& x, const at::Tensor& w, int64_t groups, at::IntArrayRef stride,
                       at::IntArrayRef padding, at::IntArrayRef dilation) {
  return g_nativePointwise.load(std::memory_order_relaxed) && groups == 1 && x.dim() == 4 && w.dim() == 4 &&
         x.device().is_cpu() && w.device().is_cpu() && x.scalar_type() == at::kFloat && w.scalar_type() == at::kFloat &&
         !x.is_mkldnn() && !x.is_sparse() && w.size(2) == 1 && w.size(3) == 1 && w.size(1) == x.size(1) &&
         w.size(0) * w.size(1) <= kMaxChannelPairs && AllEqual(stride, 1) && AllEqual(padding, 0) && AllEqual(dilation, 1);
}

at::Tensor PointwiseConv2d(const at::Tensor& x, const at::Tensor& w) {
  if (!at::GradMode::is_enabled() || (!x.requires_grad() && !w.requires_grad())) return ForwardRaw(x, w);
  return PointwiseConvFunction::apply(x, w);
}

}  // namespace tsnas
