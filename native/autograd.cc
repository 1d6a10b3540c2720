// Autograd: requires_grad, backward, grad(), retained gradients, grad modes.
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/autograd.h>

#include <memory>

#include "common.h"

namespace tsnas {
namespace {

Napi::Value RequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), T(info[0]).requires_grad());
}

Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  T(info[0]).set_requires_grad(info[1].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

// grad(handle) -> handle | null (a new handle sharing the gradient's storage)
Napi::Value Grad(const Napi::CallbackInfo& info) {
  const at::Tensor& g = T(info[0]).grad();
  if (!g.defined()) return info.Env().Null();
  return Wrap(info.Env(), g);
}

// setGrad(handle, grad|null)
Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  auto g = OptT(info[1]);
  T(info[0]).mutable_grad() = g ? *g : at::Tensor();
  return info.Env().Undefined();
}

Napi::Value RetainGrad(const Napi::CallbackInfo& info) {
  T(info[0]).retain_grad();
  return info.Env().Undefined();
}

Napi::Value IsLeaf(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), T(info[0]).is_leaf());
}

// backward(handle, gradient|null, retainGraph, createGraph)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  at::Tensor& t = T(info[0]);
  auto g = OptT(info[1]);
  c10::optional<bool> retain;
  if (Has(info, 2)) retain = info[2].As<Napi::Boolean>().Value();
  bool create = Has(info, 3) && info[3].As<Napi::Boolean>().Value();
  t.backward(g ? *g : at::Tensor(), retain, create);
  return info.Env().Undefined();
}

// autogradGrad(outputs[], inputs[], gradOutputs[]|null, createGraph, retainGraph|null, allowUnused)
Napi::Value AutogradGrad(const Napi::CallbackInfo& info) {
  auto outputs = TList(info[0]);
  auto inputs = TList(info[1]);
  std::vector<at::Tensor> gradOutputs;
  if (Has(info, 2)) gradOutputs = TList(info[2]);
  bool create = Has(info, 3) && info[3].As<Napi::Boolean>().Value();
  c10::optional<bool> retain;
  if (Has(info, 4)) retain = info[4].As<Napi::Boolean>().Value();
  bool allowUnused = Has(info, 5) && info[5].As<Napi::Boolean>().Value();
  auto grads = torch::autograd::grad(outputs, inputs, gradOutputs, retain, create, allowUnused);
  Napi::Array arr = Napi::Array::New(info.Env(), grads.size());
  for (size_t i = 0; i < grads.size(); i++) {
    arr.Set(i, grads[i].defined() ? Wrap(info.Env(), grads[i]) : info.Env().Null());
  }
  return arr;
}

Napi::Value Detach(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), T(info[0]).detach());
}

Napi::Value Detach_(const Napi::CallbackInfo& info) {
  T(info[0]).detach_();
  return info.Env().Undefined();
}

Napi::Value HasGradFn(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), T(info[0]).grad_fn() != nullptr);
}

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
}

Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  at::GradMode::set_enabled(info[0].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

// Inference mode is an RAII guard in libtorch; JS brackets it with
// enter/exit calls, so the guards live on a per-thread stack.
thread_local std::vector<std::unique_ptr<c10::InferenceMode>> inferenceGuards;

Napi::Value EnterInferenceMode(const Napi::CallbackInfo& info) {
  inferenceGuards.push_back(std::make_unique<c10::InferenceMode>(true));
  return info.Env().Undefined();
}

Napi::Value ExitInferenceMode(const Napi::CallbackInfo& info) {
  if (!inferenceGuards.empty()) inferenceGuards.pop_back();
  return info.Env().Undefined();
}

}  // namespace

void InitAutograd(Napi::Env env, Napi::Object exports) {
  TSNAS_EXPORT(exports, "requiresGrad", RequiresGrad);
  TSNAS_EXPORT(exports, "setRequiresGrad", SetRequiresGrad);
  TSNAS_EXPORT(exports, "grad", Grad);
  TSNAS_EXPORT(exports, "setGrad", SetGrad);
  TSNAS_EXPORT(exports, "retainGrad", RetainGrad);
  TSNAS_EXPORT(exports, "isLeaf", IsLeaf);
  TSNAS_EXPORT(exports, "backward", Backward);
  TSNAS_EXPORT(exports, "autogradGrad", AutogradGrad);
  TSNAS_EXPORT(exports, "detach", Detach);
  TSNAS_EXPORT(exports, "detach_", Detach_);
  TSNAS_EXPORT(exports, "hasGradFn", HasGradFn);
  TSNAS_EXPORT(exports, "isGradEnabled", IsGradEnabled);
  TSNAS_EXPORT(exports, "setGradEnabled", SetGradEnabled);
  TSNAS_EXPORT(exports, "enterInferenceMode", EnterInferenceMode);
  TSNAS_EXPORT(exports, "exitInferenceMode", ExitInferenceMode);
}

}  // namespace tsnas
