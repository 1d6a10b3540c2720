// Network layers, activations with options, losses and dropout.
#include <ATen/core/Reduction.h>

#include <cstdlib>
#include <string>

#include "common.h"
#include "kernels.h"

namespace tsnas {
namespace {

int64_t I(const Napi::Value& v) { return v.As<Napi::Number>().Int64Value(); }
double D(const Napi::Value& v) { return v.As<Napi::Number>().DoubleValue(); }
bool B(const Napi::Value& v) { return v.ToBoolean().Value(); }

int64_t Reduction(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return at::Reduction::Mean;
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s == "mean") return at::Reduction::Mean;
  if (s == "sum") return at::Reduction::Sum;
  if (s == "none") return at::Reduction::None;
  throw Napi::TypeError::New(v.Env(), "reduction must be mean, sum or none, got '" + s + "'");
}

// conv2d(x, w, b|null, stride, padding, dilation, groups)
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  const at::Tensor& x = T(info[0]);
  const at::Tensor& w = T(info[1]);
  const int64_t groups = I(info[6]);
  std::vector<int64_t> dilation = Ints(info[5]);
  std::vector<int64_t> stride = Ints(info[3]), padding = Ints(info[4]);
  at::Tensor out;
  if (DepthwiseEligible(x, w, groups, dilation)) {
    out = DepthwiseConv2d(x, w, stride, padding, dilation, /*nativeForward=*/false);
  } else if (PointwiseEligible(x, w, groups, stride, padding, dilation)) {
    out = PointwiseConv2d(x, w);
  } else {
    return Wrap(info.Env(), at::conv2d(x, w, OptT(info[2]), stride, padding, dilation, groups));
  }
  auto bias = OptT(info[2]);
  return Wrap(info.Env(), bias ? out.add(bias->view({1, -1, 1, 1})) : out);
}

// linear(x, w, b|null)
Napi::Value Linear(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::linear(T(info[0]), T(info[1]), OptT(info[2])));
}

// batchNorm(x, weight|null, bias|null, runningMean|null, runningVar|null, training, momentum, eps)
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  const at::Tensor& x = T(info[0]);
  auto weight = OptT(info[1]), bias = OptT(info[2]), runningMean = OptT(info[3]), runningVar = OptT(info[4]);
  if (BatchNormEligible(x, weight, bias, runningMean, runningVar, B(info[5]))) {
    return Wrap(info.Env(), BatchNormTraining(x, runningMean, runningVar, D(info[6]), D(info[7])));
  }
  return Wrap(info.Env(), at::batch_norm(T(info[0]), OptT(info[1]), OptT(info[2]), OptT(info[3]), OptT(info[4]),
                                         B(info[5]), D(info[6]), D(info[7]), /*cudnn_enabled=*/true));
}

// layerNorm(x, normalizedShape, weight|null, bias|null, eps)
Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::layer_norm(T(info[0]), Ints(info[1]), OptT(info[2]), OptT(info[3]), D(info[4])));
}

// maxPool2d(x, kernel, stride, padding, dilation, ceilMode)
Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
  const at::Tensor& x = T(info[0]);
  std::vector<int64_t> kernel = Ints(info[1]), stride = Ints(info[2]), padding = Ints(info[3]), dilation = Ints(info[4]);
  if (MaxPoolEligible(x, kernel, stride, padding, dilation, B(info[5]))) {
    return Wrap(info.Env(), tsnas::MaxPool2d(x, kernel, stride, padding));
  }
  return Wrap(info.Env(), at::max_pool2d(T(info[0]), Ints(info[1]), Ints(info[2]), Ints(info[3]), Ints(info[4]),
                                         B(info[5])));
}

// avgPool2d(x, kernel, stride, padding, ceilMode, countIncludePad)
Napi::Value AvgPool2d(const Napi::CallbackInfo& info) {
  const at::Tensor& x = T(info[0]);
  std::vector<int64_t> kernel = Ints(info[1]), stride = Ints(info[2]), padding = Ints(info[3]);
  if (AvgPoolEligible(x, kernel, stride, padding, B(info[4]))) {
    return Wrap(info.Env(), tsnas::AvgPool2d(x, kernel, stride, padding, B(info[5])));
  }
  return Wrap(info.Env(), at::avg_pool2d(T(info[0]), Ints(info[1]), Ints(info[2]), Ints(info[3]), B(info[4]),
                                         B(info[5])));
}

// adaptiveAvgPool2d(x, outputSize)
Napi::Value AdaptiveAvgPool2d(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::adaptive_avg_pool2d(T(info[0]), Ints(info[1])));
}

// softmax(x, dim), logSoftmax(x, dim)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::softmax(T(info[0]), I(info[1])));
}
Napi::Value LogSoftmax(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::log_softmax(T(info[0]), I(info[1])));
}

// crossEntropy(logits, target, reduction, labelSmoothing, weight|null)
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  double smoothing = Has(info, 3) ? D(info[3]) : 0.0;
  return Wrap(info.Env(), at::cross_entropy_loss(T(info[0]), T(info[1]), OptT(info[4]), Reduction(info[2]), -100,
                                                 smoothing));
}

// nllLoss(logProbs, target, reduction, weight|null)
Napi::Value NllLoss(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::nll_loss_nd(T(info[0]), T(info[1]), OptT(info[3]), Reduction(info[2]), -100));
}

// mseLoss(a, b, reduction)
Napi::Value MseLoss(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::mse_loss(T(info[0]), T(info[1]), Reduction(info[2])));
}

// dropout(x, p, training)
Napi::Value Dropout(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::dropout(T(info[0]), D(info[1]), B(info[2])));
}

// embedding(weight, indices)
Napi::Value Embedding(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::embedding(T(info[0]), T(info[1])));
}

// lstmCell(x, h, c, wIh, wHh, bIh|null, bHh|null) -> [h, c]
Napi::Value LstmCell(const Napi::CallbackInfo& info) {
  std::vector<at::Tensor> hx{T(info[1]), T(info[2])};
  auto r = at::lstm_cell(T(info[0]), hx, T(info[3]), T(info[4]), OptT(info[5]), OptT(info[6]));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}

// pad(x, pads, value): constant padding, pads as in torch.nn.functional.pad
Napi::Value Pad(const Napi::CallbackInfo& info) {
  double value = Has(info, 2) ? D(info[2]) : 0.0;
  return Wrap(info.Env(), at::constant_pad_nd(T(info[0]), Ints(info[1]), value));
}

// oneHot(indices, numClasses)
Napi::Value OneHot(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::one_hot(T(info[0]), I(info[1])));
}

// interpolate bilinear (x, outputSize, alignCorners), used for resolution changes
Napi::Value UpsampleBilinear(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::upsample_bilinear2d(T(info[0]), Ints(info[1]), B(info[2])));
}

// setNativeKernels({depthwise?, pointwise?, maxPool?, avgPool?, batchNorm?}) -> the previous settings:
// whether conv2d, maxPool2d, avgPool2d and batchNorm use the native kernels of kernels.h
// where they apply.
Napi::Value SetNativeKernels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object previous = Napi::Object::New(env);
  previous.Set("depthwise", g_nativeDepthwise.load());
  previous.Set("pointwise", g_nativePointwise.load());
  previous.Set("maxPool", g_nativeMaxPool.load());
  previous.Set("avgPool", g_nativeAvgPool.load());
  previous.Set("batchNorm", g_nativeBatchNorm.load());
  if (Has(info, 0)) {
    Napi::Object o = info[0].As<Napi::Object>();
    if (o.Has("depthwise") && !o.Get("depthwise").IsUndefined()) g_nativeDepthwise = B(o.Get("depthwise"));
    if (o.Has("pointwise") && !o.Get("pointwise").IsUndefined()) g_nativePointwise = B(o.Get("pointwise"));
    if (o.Has("maxPool") && !o.Get("maxPool").IsUndefined()) g_nativeMaxPool = B(o.Get("maxPool"));
    if (o.Has("avgPool") && !o.Get("avgPool").IsUndefined()) g_nativeAvgPool = B(o.Get("avgPool"));
    if (o.Has("batchNorm") && !o.Get("batchNorm").IsUndefined()) g_nativeBatchNorm = B(o.Get("batchNorm"));
  }
  return previous;
}

}  // namespace

void InitNN(Napi::Env env, Napi::Object exports) {
  // TSNAS_NATIVE_KERNELS=0 starts with libtorch's kernels everywhere (for A/B timing).
  if (const char* v = std::getenv("TSNAS_NATIVE_KERNELS"); v && (std::string(v) == "0" || std::string(v) == "off")) {
    g_nativeDepthwise = false;
    g_nativePointwise = false;
    g_nativeMaxPool = false;
    g_nativeAvgPool = false;
    g_nativeBatchNorm = false;
  }
  TSNAS_EXPORT(exports, "setNativeKernels", SetNativeKernels);
  TSNAS_EXPORT(exports, "conv2d", Conv2d);
  TSNAS_EXPORT(exports, "linear", Linear);
  TSNAS_EXPORT(exports, "batchNorm", BatchNorm);
  TSNAS_EXPORT(exports, "layerNorm", LayerNorm);
  TSNAS_EXPORT(exports, "maxPool2d", MaxPool2d);
  TSNAS_EXPORT(exports, "avgPool2d", AvgPool2d);
  TSNAS_EXPORT(exports, "adaptiveAvgPool2d", AdaptiveAvgPool2d);
  TSNAS_EXPORT(exports, "softmax", Softmax);
  TSNAS_EXPORT(exports, "logSoftmax", LogSoftmax);
  TSNAS_EXPORT(exports, "crossEntropy", CrossEntropy);
  TSNAS_EXPORT(exports, "nllLoss", NllLoss);
  TSNAS_EXPORT(exports, "mseLoss", MseLoss);
  TSNAS_EXPORT(exports, "dropout", Dropout);
  TSNAS_EXPORT(exports, "embedding", Embedding);
  TSNAS_EXPORT(exports, "lstmCell", LstmCell);
  TSNAS_EXPORT(exports, "pad", Pad);
  TSNAS_EXPORT(exports, "oneHot", OneHot);
  TSNAS_EXPORT(exports, "upsampleBilinear", UpsampleBilinear);
}

}  // namespace tsnas
