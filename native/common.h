// Shared plumbing of the addon: the tensor handle, argument conversion and
// the exception boundary. The addon holds no NAS logic; see README.
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

#include <atomic>
#include <optional>
#include <string>
#include <vector>

namespace tsnas {

// Live tensors of one environment (one per worker thread), in slots. JS
// holds a tensor as a plain number: slot + generation * 2^24, so a stale id
// (used after dispose) is detected. Numbers instead of wrapped objects keep
// the per-op cost low and keep no small native objects alive until the
// garbage collector's finalizers run, which fragmented the heap.
class TensorTable {
 public:
  double Add(Napi::Env env, at::Tensor t);
  at::Tensor& Get(const Napi::Value& v);
  bool Live(const Napi::Value& v) const;
  void Release(Napi::Env env, const Napi::Value& v);

 private:
  bool Decode(const Napi::Value& v, uint32_t* slot) const;
  std::vector<at::Tensor> tensors_;
  std::vector<uint32_t> generations_;
  std::vector<int64_t> bytes_;
  std::vector<uint32_t> free_;
};

// Per-environment state.
struct AddonData {
  TensorTable table;
};

// Process-wide statistics across all environments.
extern std::atomic<int64_t> g_liveTensors;
extern std::atomic<int64_t> g_liveBytes;

Napi::Value Wrap(Napi::Env env, at::Tensor t);
Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& ts);
at::Tensor& T(const Napi::Value& v);
c10::optional<at::Tensor> OptT(const Napi::Value& v);
std::vector<at::Tensor> TList(const Napi::Value& v);
std::vector<int64_t> Ints(const Napi::Value& v);
at::Scalar S(const Napi::Value& v);
at::ScalarType DType(const Napi::Value& v);
const char* DTypeName(at::ScalarType t);
at::Device Dev(const Napi::Value& v);
at::TensorOptions Opts(const Napi::Value& dtype, const Napi::Value& device);
inline bool Has(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && !info[i].IsUndefined() && !info[i].IsNull();
}

using Fn = Napi::Value (*)(const Napi::CallbackInfo&);

// Runs fn and turns every C++ exception into a JS exception carrying
// libtorch's message, so that a bad shape never aborts the process.
template <Fn fn>
Napi::Value Guard(const Napi::CallbackInfo& info) {
  try {
    return fn(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

#define TSNAS_EXPORT(exports, name, fn) \
  exports.Set(name, Napi::Function::New(env, Guard<fn>, name))

void InitAutograd(Napi::Env env, Napi::Object exports);
void InitMath(Napi::Env env, Napi::Object exports);
void InitNN(Napi::Env env, Napi::Object exports);
void InitShape(Napi::Env env, Napi::Object exports);
void InitDepthwise(Napi::Env env, Napi::Object exports);
void InitWeightedSum(Napi::Env env, Napi::Object exports);

}  // namespace tsnas
