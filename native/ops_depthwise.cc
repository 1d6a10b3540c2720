// Depthwise 2-d convolution (one filter per channel, groups == channels)
// as direct loops for float32 CPU tensors. libtorch 1.13's CPU backward
// for depthwise convolutions with 5x5 or dilated kernels is a slow generic
// path (tens of ms where the forward takes under one); these loops cost
// about as much as the forward in each direction. Kept out of NAS logic:
// ops_nn.cc's conv2d routes eligible calls here (there with libtorch's
// forward, which is fast, and these backward loops).
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <vector>

#include "common.h"
#include "kernels.h"

namespace tsnas {

std::atomic<bool> g_nativeDepthwise{true};

// dst[j] += sum_i w[i] * src[i][j] for j < n, four taps per pass.
TSNAS_CLONES void AccumulateTaps(float* __restrict dst, int64_t n, const float* const* src, const float* w, int64_t count) {
  int64_t i = 0;
  for (; i + 4 <= count; i += 4) {
    const float* __restrict s0 = src[i];
    const float* __restrict s1 = src[i + 1];
    const float* __restrict s2 = src[i + 2];
    const float* __restrict s3 = src[i + 3];
    const float w0 = w[i], w1 = w[i + 1], w2 = w[i + 2], w3 = w[i + 3];
#pragma omp simd
    for (int64_t j = 0; j < n; j++) dst[j] += w0 * s0[j] + w1 * s1[j] + w2 * s2[j] + w3 * s3[j];
  }
  for (; i < count; i++) {
    const float* __restrict s0 = src[i];
    const float w0 = w[i];
#pragma omp simd
    for (int64_t j = 0; j < n; j++) dst[j] += w0 * s0[j];
  }
}

TSNAS_CLONES void DotTaps(const float* __restrict g, int64_t n, const float* const* src, float* out, int64_t count) {
  int64_t i = 0;
  for (; i + 4 <= count; i += 4) {
    const float* __restrict s0 = src[i];
    const float* __restrict s1 = src[i + 1];
    const float* __restrict s2 = src[i + 2];
    const float* __restrict s3 = src[i + 3];
    float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
#pragma omp simd reduction(+ : a0, a1, a2, a3)
    for (int64_t j = 0; j < n; j++) {
      a0 += g[j] * s0[j];
      a1 += g[j] * s1[j];
      a2 += g[j] * s2[j];
      a3 += g[j] * s3[j];
    }
    out[i] = a0;
    out[i + 1] = a1;
    out[i + 2] = a2;
    out[i + 3] = a3;
  }
  for (; i < count; i++) {
    const float* __restrict s0 = src[i];
    float a0 = 0;
#pragma omp simd reduction(+ : a0)
    for (int64_t j = 0; j < n; j++) a0 += g[j] * s0[j];
    out[i] = a0;
  }
}

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// stride, padding, dilation as (h, w) pairs.
struct DwParams {
  int64_t sh, sw, ph, pw, dh, dw;
};

// The loops work on flat planes in the phase layout of kernels.h: output
// (oh, ow) sits at j = oh * Wq + ow and kernel tap (kh, kw) reads its phase
// at j + offset, so out[j] += w * phase[j + offset] is one long loop per tap.
struct Flat {
  int64_t N, C, H, W, OH, OW, KH, KW, K;
  DwParams p;
  PhaseLayout layout;
  int64_t L;  // flat output length OH * Wq
  int64_t F;  // the largest within-phase tap offset (front margin of the gathered output gradient)
  std::vector<int64_t> phaseOf, offsetIn;  // per tap: phase index and offset within its phase
};

int64_t ConvOutSize(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; }

Flat MakeFlat(const at::Tensor& x, const at::Tensor& w, const DwParams& p) {
  const int64_t H = x.size(2), W = x.size(3), KH = w.size(2), KW = w.size(3);
  const int64_t OH = ConvOutSize(H, KH, p.sh, p.ph, p.dh), OW = ConvOutSize(W, KW, p.sw, p.pw, p.dw);
  TORCH_CHECK(OH > 0 && OW > 0, "depthwiseConv2d: input ", x.sizes(), " is smaller than the dilated kernel ", w.sizes());
  Flat f{x.size(0), x.size(1), H, W, OH, OW, KH, KW, KH * KW, p,
         PhaseLayout(H, W, p.sh, p.sw, p.ph, p.pw, ((KW - 1) * p.dw) / p.sw), 0, 0, {}, {}};
  f.L = OH * f.layout.Wq;
  for (int64_t kh = 0; kh < KH; kh++) {
    for (int64_t kw = 0; kw < KW; kw++) {
      f.phaseOf.push_back(f.layout.PhaseOf(kh * p.dh, kw * p.dw));
      f.offsetIn.push_back(f.layout.OffsetOf(kh * p.dh, kw * p.dw));
    }
  }
  f.F = *std::max_element(f.offsetIn.begin(), f.offsetIn.end());
  return f;
}

int64_t Grain(const Flat& f) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, f.L * f.K));
}

// Per-thread scratch of the plane loops.
struct Scratch {
  std::vector<float> phases, acc, gradPhases;
  std::vector<const float*> src;
  std::vector<float> w;
};

void ForwardPlane(const float* x, const float* w, float* out, const Flat& f, Scratch& s) {
  f.layout.ToPhases(x, s.phases.data(), 0.f);
  for (int64_t k = 0; k < f.K; k++) s.src[k] = s.phases.data() + f.phaseOf[k] * f.layout.PS + f.offsetIn[k];
  std::fill(s.acc.begin(), s.acc.end(), 0.f);
  AccumulateTaps(s.acc.data(), f.L, s.src.data(), w, f.K);
  for (int64_t oh = 0; oh < f.OH; oh++) std::copy(&s.acc[oh * f.layout.Wq], &s.acc[oh * f.layout.Wq] + f.OW, out + oh * f.OW);
}

// The input gradient (when gi) and the per-plane weight-gradient sums (when gw) of one plane.
void BackwardPlane(const float* go, const float* x, const float* w, float* gi, float* gw, const Flat& f, Scratch& s) {
  // The output gradient in rows of Wq with zero scratch columns, after a
  // zero margin of F: acc[F + j] is go at flat j.
  float* g = s.acc.data() + f.F;
  std::fill(s.acc.begin(), s.acc.end(), 0.f);
  for (int64_t oh = 0; oh < f.OH; oh++) std::copy(go + oh * f.OW, go + (oh + 1) * f.OW, g + oh * f.layout.Wq);
  if (gw) {
    f.layout.ToPhases(x, s.phases.data(), 0.f);
    for (int64_t k = 0; k < f.K; k++) s.src[k] = s.phases.data() + f.phaseOf[k] * f.layout.PS + f.offsetIn[k];
    DotTaps(g, f.L, s.src.data(), gw, f.K);
  }
  if (gi) {
    // Gather form of the transposed convolution, phase by phase:
    // gradPhase[m] = sum over the phase's taps of w * g[m - offset].
    std::fill(s.gradPhases.begin(), s.gradPhases.end(), 0.f);
    const int64_t phases = f.p.sh * f.p.sw;
    for (int64_t ph = 0; ph < phases; ph++) {
      int64_t count = 0;
      for (int64_t k = 0; k < f.K; k++) {
        if (f.phaseOf[k] != ph) continue;
        s.src[count] = g - f.offsetIn[k];
        s.w[count] = w[k];
        count++;
      }
      if (count > 0) AccumulateTaps(s.gradPhases.data() + ph * f.layout.PS, f.layout.Hq * f.layout.Wq, s.src.data(), s.w.data(), count);
    }
    f.layout.FromPhases(s.gradPhases.data(), gi);
  }
}

Scratch MakeScratch(const Flat& f, bool forBackward) {
  Scratch s;
  s.phases.resize(f.p.sh * f.p.sw * f.layout.PS);
  s.acc.resize(forBackward ? f.F + f.layout.Hq * f.layout.Wq : f.L);
  if (forBackward) s.gradPhases.resize(f.p.sh * f.p.sw * f.layout.PS);
  s.src.resize(f.K);
  s.w.resize(f.K);
  return s;
}

void CheckInputs(const at::Tensor& x, const at::Tensor& w) {
  TORCH_CHECK(x.dim() == 4 && w.dim() == 4, "depthwiseConv2d: expected a 4-d input and a 4-d weight, got ", x.dim(), "-d and ",
              w.dim(), "-d");
  TORCH_CHECK(x.scalar_type() == at::kFloat && w.scalar_type() == at::kFloat && x.device().is_cpu() && w.device().is_cpu(),
              "depthwiseConv2d: expected float32 CPU tensors");
  TORCH_CHECK(w.size(1) == 1 && w.size(0) == x.size(1), "depthwiseConv2d: expected weight [", x.size(1), ", 1, kh, kw] for input ",
              x.sizes(), ", got ", w.sizes());
}

at::Tensor ForwardRaw(const at::Tensor& xIn, const at::Tensor& wIn, const DwParams& p) {
  at::Tensor x = xIn.contiguous(), w = wIn.contiguous();
  const Flat f = MakeFlat(x, w, p);
  at::Tensor out = at::empty({f.N, f.C, f.OH, f.OW}, x.options());
  const float* xp = x.data_ptr<float>();
  const float* wp = w.data_ptr<float>();
  float* op = out.data_ptr<float>();
  at::parallel_for(0, f.N * f.C, Grain(f), [&](int64_t begin, int64_t end) {
    Scratch s = MakeScratch(f, false);
    for (int64_t plane = begin; plane < end; plane++) {
      ForwardPlane(xp + plane * f.H * f.W, wp + (plane % f.C) * f.K, op + plane * f.OH * f.OW, f, s);
    }
  });
  return out;
}

std::pair<at::Tensor, at::Tensor> BackwardRaw(const at::Tensor& goIn, const at::Tensor& xIn, const at::Tensor& wIn,
                                              const DwParams& p, bool needInput, bool needWeight) {
  at::Tensor x = xIn.contiguous(), w = wIn.contiguous(), go = goIn.contiguous();
  const Flat f = MakeFlat(x, w, p);
  TORCH_CHECK(go.sizes() == at::IntArrayRef({f.N, f.C, f.OH, f.OW}), "depthwiseConv2d backward: expected an output gradient of ",
              at::IntArrayRef({f.N, f.C, f.OH, f.OW}), ", got ", go.sizes());
  at::Tensor gradInput, gradWeight;
  if (!needInput && !needWeight) return {gradInput, gradWeight};
  if (needInput) gradInput = at::empty_like(x);
  // Per-plane sums, added over the batch in double afterwards.
  std::vector<float> partial(needWeight ? f.N * f.C * f.K : 0);
  const float* gop = go.data_ptr<float>();
  const float* xp = x.data_ptr<float>();
  const float* wp = w.data_ptr<float>();
  float* gip = needInput ? gradInput.data_ptr<float>() : nullptr;
  at::parallel_for(0, f.N * f.C, Grain(f), [&](int64_t begin, int64_t end) {
    Scratch s = MakeScratch(f, true);
    for (int64_t plane = begin; plane < end; plane++) {
      BackwardPlane(gop + plane * f.OH * f.OW, xp + plane * f.H * f.W, wp + (plane % f.C) * f.K,
                    gip ? gip + plane * f.H * f.W : nullptr, needWeight ? &partial[plane * f.K] : nullptr, f, s);
    }
  });
  if (needWeight) {
    gradWeight = at::empty_like(w);
    float* gwp = gradWeight.data_ptr<float>();
    for (int64_t c = 0; c < f.C; c++) {
      for (int64_t k = 0; k < f.K; k++) {
        double sum = 0;
        for (int64_t n = 0; n < f.N; n++) sum += partial[(n * f.C + c) * f.K + k];
        gwp[c * f.K + k] = static_cast<float>(sum);
      }
    }
  }
  return {gradInput, gradWeight};
}

// libtorch's (oneDNN's) depthwise forward is fast; only its backward is slow.
at::Tensor LibtorchForward(const at::Tensor& x, const at::Tensor& w, const DwParams& p) {
  return at::conv2d(x, w, {}, {p.sh, p.sw}, {p.ph, p.pw}, {p.dh, p.dw}, x.size(1));
}

class DepthwiseConvFunction : public torch::autograd::Function<DepthwiseConvFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w, DwParams p, bool nativeForward) {
    ctx->save_for_backward({x, w});
    ctx->saved_data["p"] = std::vector<int64_t>{p.sh, p.sw, p.ph, p.pw, p.dh, p.dw};
    return nativeForward ? ForwardRaw(x, w, p) : LibtorchForward(x, w, p);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor& w = saved[1];
    std::vector<int64_t> v = ctx->saved_data["p"].toIntVector();
    DwParams p{v[0], v[1], v[2], v[3], v[4], v[5]};
    const at::Tensor& go = grads[0];
    const bool needInput = ctx->needs_input_grad(0), needWeight = ctx->needs_input_grad(1);
    if (!go.defined()) return {at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    if (at::GradMode::is_enabled()) {
      // create_graph: libtorch's convolution_backward records its own
      // derivative, so second-order gradients through this op stay exact.
      auto r = at::convolution_backward(go, x, w, c10::nullopt, {p.sh, p.sw}, {p.ph, p.pw}, {p.dh, p.dw}, false, {0, 0},
                                        x.size(1), {needInput, needWeight, false});
      return {std::get<0>(r), std::get<1>(r), at::Tensor(), at::Tensor()};
    }
    auto r = BackwardRaw(go, x, w, p, needInput, needWeight);
    return {r.first, r.second, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

bool DepthwiseEligible(const at::Tensor& x, const at::Tensor& w, int64_t groups, at::IntArrayRef dilation) {
  if (!g_nativeDepthwise.load(std::memory_order_relaxed) || x.dim() != 4 || w.dim() != 4 || !x.device().is_cpu() ||
      !w.device().is_cpu() || x.scalar_type() != at::kFloat || w.scalar_type() != at::kFloat || groups <= 1 ||
      x.size(1) != groups || w.size(0) != groups || w.size(1) != 1 || x.is_mkldnn() || x.is_sparse())
    return false;
  // libtorch's own backward is fast for undilated 3x3 kernels; the native one pays off elsewhere.
  const bool dilated = std::any_of(dilation.begin(), dilation.end(), [](int64_t d) { return d != 1; });
  return dilated || w.size(2) != 3 || w.size(3) != 3;
}

at::Tensor DepthwiseConv2d(const at::Tensor& x, const at::Tensor& w, at::IntArrayRef stride, at::IntArrayRef padding,
                           at::IntArrayRef dilation, bool nativeForward) {
  CheckInputs(x, w);
  auto two = [](at::IntArrayRef v, const char* name) {
    TORCH_CHECK(v.size() == 1 || v.size() == 2, "depthwiseConv2d: ", name, " must have 1 or 2 values, got ", v.size());
    return std::array<int64_t, 2>{v[0], v[v.size() - 1]};
  };
  auto s = two(stride, "stride"), pd = two(padding, "padding"), d = two(dilation, "dilation");
  TORCH_CHECK(s[0] > 0 && s[1] > 0 && d[0] > 0 && d[1] > 0 && pd[0] >= 0 && pd[1] >= 0,
              "depthwiseConv2d: expected positive stride and dilation and non-negative padding");
  DwParams p{s[0], s[1], pd[0], pd[1], d[0], d[1]};
  if (!at::GradMode::is_enabled() || (!x.requires_grad() && !w.requires_grad())) {
    if (nativeForward) return ForwardRaw(x, w, p);
    at::NoGradGuard noGrad;
    return LibtorchForward(x, w, p);
  }
  return DepthwiseConvFunction::apply(x, w, p, nativeForward);
}

namespace {

// depthwiseConv2d(x, w, stride, padding, dilation)
Napi::Value DepthwiseConv2dJs(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), DepthwiseConv2d(T(info[0]), T(info[1]), Ints(info[2]), Ints(info[3]), Ints(info[4]), true));
}

// depthwiseConv2dBackward(gradOut, x, w, stride, padding, dilation) -> [gradInput, gradWeight]: the raw
// kernels, for tests against libtorch's convolution_backward.
Napi::Value DepthwiseConv2dBackwardJs(const Napi::CallbackInfo& info) {
  const at::Tensor& x = T(info[1]);
  const at::Tensor& w = T(info[2]);
  CheckInputs(x, w);
  auto s = Ints(info[3]), pd = Ints(info[4]), d = Ints(info[5]);
  DwParams p{s[0], s.back(), pd[0], pd.back(), d[0], d.back()};
  at::NoGradGuard noGrad;
  auto r = BackwardRaw(T(info[0]), x.detach(), w.detach(), p, true, true);
  return WrapList(info.Env(), {r.first, r.second});
}

}  // namespace

void InitDepthwise(Napi::Env env, Napi::Object exports) {
  TSNAS_EXPORT(exports, "depthwiseConv2d", DepthwiseConv2dJs);
  TSNAS_EXPORT(exports, "depthwiseConv2dBackward", DepthwiseConv2dBackwardJs);
}

}  // namespace tsnas
