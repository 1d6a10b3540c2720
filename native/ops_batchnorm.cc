// Training-mode batch norm without affine parameters (DARTS's search
// networks use BatchNorm2d(affine=False) throughout) for float32 CPU NCHW
// tensors. libtorch 1.13 gathers the batch statistics with a scalar
// Welford loop; here each channel's planes are summed with vector loops
// (one pass of shifted sums and squares per plane, added in double).
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>

#include "common.h"
#include "kernels.h"

namespace tsnas {

std::atomic<bool> g_nativeBatchNorm{true};

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// sum(x - shift) and sum((x - shift)^2) over one plane in one pass; the
// shift (a value of the channel) keeps the squares from cancelling.
TSNAS_CLONES void PlaneMoments(const float* __restrict x, int64_t n, float shift, float* sum, float* squares) {
  float a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
  for (int64_t i = 0; i < n; i++) {
    const float d = x[i] - shift;
    a += d;
    b += d * d;
  }
  *sum = a;
  *squares = b;
}

TSNAS_CLONES void PlaneNormalise(const float* __restrict x, float* __restrict y, int64_t n, float mean, float invstd) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) * invstd;
}

// sum(g) and sum(g * (x - mean)) over one plane.
TSNAS_CLONES void PlaneGradSums(const float* __restrict g, const float* __restrict x, int64_t n, float mean, float* sumG,
                                float* sumGX) {
  float a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
  for (int64_t i = 0; i < n; i++) {
    a += g[i];
    b += g[i] * (x[i] - mean);
  }
  *sumG = a;
  *sumGX = b;
}

// gx = invstd * (g - meanG - (x - mean) * k), k = invstd^2 * mean(g * (x - mean)).
TSNAS_CLONES void PlaneGradInput(const float* __restrict g, const float* __restrict x, float* __restrict gx, int64_t n,
                                 float mean, float invstd, float meanG, float k) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) gx[i] = invstd * (g[i] - meanG - (x[i] - mean) * k);
}

struct BnArgs {
  at::Tensor runningMean, runningVar;  // undefined when not tracked
  double momentum, eps;
};

// Returns y and fills mean and invstd ([C]).
at::Tensor ForwardRaw(const at::Tensor& xIn, const BnArgs& a, at::Tensor* meanOut, at::Tensor* invstdOut) {
  at::Tensor x = xIn.contiguous();
  const int64_t N = x.size(0), C = x.size(1), HW = x.numel() / (N * C), M = N * HW;
  at::Tensor y = at::empty_like(x, at::MemoryFormat::Contiguous);
  at::Tensor mean = at::empty({C}, x.options()), invstd = at::empty({C}, x.options());
  // The running statistics are updated inside the channel loop (no extra
  // tensor ops per call); float32 [C] is checked by BatchNormEligible.
  const bool track = a.runningMean.defined();
  TORCH_CHECK(!track || (a.runningMean.is_contiguous() && a.runningVar.is_contiguous()),
              "batchNorm: running statistics must be contiguous");
  float* rmp = track ? a.runningMean.data_ptr<float>() : nullptr;
  float* rvp = track ? a.runningVar.data_ptr<float>() : nullptr;
  const float* xp = x.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  float* mp = mean.data_ptr<float>();
  float* ip = invstd.data_ptr<float>();
  at::parallel_for(0, C, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; c++) {
      const float shift = xp[c * HW];
      double sum = 0, squares = 0;
      for (int64_t n = 0; n < N; n++) {
        float a, b;
        PlaneMoments(xp + (n * C + c) * HW, HW, shift, &a, &b);
        sum += a;
        squares += b;
      }
      const double shiftedMean = sum / M;
      const double var = std::max(0.0, squares / M - shiftedMean * shiftedMean);
      const float m = static_cast<float>(shift + shiftedMean);
      const float is = static_cast<float>(1.0 / std::sqrt(var + a.eps));
      for (int64_t n = 0; n < N; n++) PlaneNormalise(xp + (n * C + c) * HW, yp + (n * C + c) * HW, HW, m, is);
      mp[c] = m;
      ip[c] = is;
      if (track) {
        rmp[c] = static_cast<float>((1 - a.momentum) * rmp[c] + a.momentum * (shift + shiftedMean));
        rvp[c] = static_cast<float>((1 - a.momentum) * rvp[c] + a.momentum * var * M / (M - 1));
      }
    }
  });
  *meanOut = mean;
  *invstdOut = invstd;
  return y;
}

at::Tensor BackwardRaw(const at::Tensor& gIn, const at::Tensor& xIn, const at::Tensor& mean, const at::Tensor& invstd) {
  at::Tensor x = xIn.contiguous(), g = gIn.contiguous();
  const int64_t N = x.size(0), C = x.size(1), HW = x.numel() / (N * C), M = N * HW;
  at::Tensor gx = at::empty_like(x, at::MemoryFormat::Contiguous);
  const float* xp = x.data_ptr<float>();
  const float* gp = g.data_ptr<float>();
  const float* mp = mean.data_ptr<float>();
  const float* ip = invstd.data_ptr<float>();
  float* gxp = gx.data_ptr<float>();
  at::parallel_for(0, C, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; c++) {
      double sumG = 0, sumGX = 0;
      for (int64_t n = 0; n < N; n++) {
        float a, b;
        PlaneGradSums(gp + (n * C + c) * HW, xp + (n * C + c) * HW, HW, mp[c], &a, &b);
        sumG += a;
        sumGX += b;
      }
      const float is = ip[c];
      const float meanG = static_cast<float>(sumG / M), k = static_cast<float>(sumGX / M * is * is);
      for (int64_t n = 0; n < N; n++)
        PlaneGradInput(gp + (n * C + c) * HW, xp + (n * C + c) * HW, gxp + (n * C + c) * HW, HW, mp[c], is, meanG, k);
    }
  });
  return gx;
}

class BatchNormFunction : public torch::autograd::Function<BatchNormFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, BnArgs a) {
    at::Tensor mean, invstd;
    at::Tensor y = ForwardRaw(x, a, &mean, &invstd);
    ctx->save_for_backward({x, mean, invstd});
    ctx->saved_data["eps"] = a.eps;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor& g = grads[0];
    if (!g.defined() || !ctx->needs_input_grad(0)) return {at::Tensor(), at::Tensor()};
    if (at::GradMode::is_enabled()) {
      // create_graph: libtorch's batch-norm backward carries its own (double) derivative.
      auto r = at::native_batch_norm_backward(g, saved[0], {}, {}, {}, saved[1], saved[2], true,
                                              ctx->saved_data["eps"].toDouble(), {true, false, false});
      return {std::get<0>(r), at::Tensor()};
    }
    return {BackwardRaw(g, saved[0], saved[1], saved[2]), at::Tensor()};
  }
};

}  // namespace

bool BatchNormEligible(const at::Tensor& x, const c10::optional<at::Tensor>& weight, const c10::optional<at::Tensor>& bias,
                       const c10::optional<at::Tensor>& runningMean, const c10::optional<at::Tensor>& runningVar,
                       bool training) {
  auto defined = [](const c10::optional<at::Tensor>& t) { return t.has_value() && t->defined(); };
  if (!g_nativeBatchNorm.load(std::memory_order_relaxed) || !training || defined(weight) || defined(bias) || x.dim() != 4 ||
      !x.device().is_cpu() || x.scalar_type() != at::kFloat || x.is_mkldnn() || x.is_sparse())
    return false;
  if (defined(runningMean) != defined(runningVar)) return false;
  if (defined(runningMean)) {
    for (const at::Tensor* t : {&*runningMean, &*runningVar}) {
      if (t->scalar_type() != at::kFloat || !t->device().is_cpu() || t->dim() != 1 || t->size(0) != x.size(1) ||
          !t->is_contiguous() || t->requires_grad())
        return false;
    }
  }
  // Small batches stay with libtorch: their statistics are cheap either way,
  // and libtorch's rounding is kept where tests compare near-zero gradients
  // (e.g. of a conv bias before the norm) with PyTorch's to a few 1e-6.
  return x.size(1) > 0 && x.numel() / x.size(1) >= 1024;
}

at::Tensor BatchNormTraining(const at::Tensor& x, const c10::optional<at::Tensor>& runningMean,
                             const c10::optional<at::Tensor>& runningVar, double momentum, double eps) {
  BnArgs a{runningMean.has_value() ? *runningMean : at::Tensor(), runningVar.has_value() ? *runningVar : at::Tensor(), momentum,
           eps};
  if (!at::GradMode::is_enabled() || !x.requires_grad()) {
    at::Tensor mean, invstd;
    return ForwardRaw(x, a, &mean, &invstd);
  }
  return BatchNormFunction::apply(x, a);
}

}  // namespace tsnas
