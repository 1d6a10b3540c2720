// Module entry, the tensor handle, conversions to and from TypedArrays,
// memory statistics, RNG, threads and devices.
#include "common.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include <cmath>
#include <cstring>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace tsnas {

std::atomic<int64_t> g_liveTensors{0};
std::atomic<int64_t> g_liveBytes{0};

// ---------------------------------------------------------------- tensor table

constexpr double kSlots = 16777216.0;  // 2^24 slots; the generation goes above

double TensorTable::Add(Napi::Env env, at::Tensor t) {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(tensors_.size());
    if (slot >= kSlots) throw Napi::Error::New(env, "more than 2^24 live tensors: dispose tensors you no longer need");
    tensors_.emplace_back();
    generations_.push_back(0);
    bytes_.push_back(0);
  }
  int64_t bytes = t.defined() ? static_cast<int64_t>(t.nbytes()) : 0;
  tensors_[slot] = std::move(t);
  bytes_[slot] = bytes;
  g_liveTensors++;
  g_liveBytes += bytes;
  if (bytes > 0) Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
  return static_cast<double>(generations_[slot]) * kSlots + slot;
}

bool TensorTable::Decode(const Napi::Value& v, uint32_t* slot) const {
  if (!v.IsNumber()) return false;
  double id = v.As<Napi::Number>().DoubleValue();
  double gen = std::floor(id / kSlots);
  double s = id - gen * kSlots;
  if (s < 0 || s >= static_cast<double>(tensors_.size())) return false;
  *slot = static_cast<uint32_t>(s);
  return generations_[*slot] == static_cast<uint32_t>(gen) && tensors_[*slot].defined();
}

at::Tensor& TensorTable::Get(const Napi::Value& v) {
  uint32_t slot;
  if (!Decode(v, &slot)) {
    if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), "expected a tensor");
    throw Napi::Error::New(v.Env(), "tensor was disposed");
  }
  return tensors_[slot];
}

bool TensorTable::Live(const Napi::Value& v) const {
  uint32_t slot;
  return Decode(v, &slot);
}

void TensorTable::Release(Napi::Env env, const Napi::Value& v) {
  uint32_t slot;
  if (!Decode(v, &slot)) return;
  tensors_[slot] = at::Tensor();
  generations_[slot]++;
  g_liveTensors--;
  g_liveBytes -= bytes_[slot];
  if (bytes_[slot] > 0) Napi::MemoryManagement::AdjustExternalMemory(env, -bytes_[slot]);
  bytes_[slot] = 0;
  free_.push_back(slot);
}

static TensorTable& Table(Napi::Env env) { return env.GetInstanceData<AddonData>()->table; }

Napi::Value Wrap(Napi::Env env, at::Tensor t) {
  return Napi::Number::New(env, Table(env).Add(env, std::move(t)));
}

Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& ts) {
  Napi::Array arr = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); i++) arr.Set(i, Wrap(env, ts[i]));
  return arr;
}

// ---------------------------------------------------------------- arguments

at::Tensor& T(const Napi::Value& v) { return Table(v.Env()).Get(v); }

c10::optional<at::Tensor> OptT(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  return T(v);
}

std::vector<at::Tensor> TList(const Napi::Value& v) {
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(T(arr.Get(i)));
  return out;
}

std::vector<int64_t> Ints(const Napi::Value& v) {
  if (v.IsNumber()) return {v.As<Napi::Number>().Int64Value()};
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), "expected an integer array");
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) out[i] = arr.Get(i).As<Napi::Number>().Int64Value();
  return out;
}

at::Scalar S(const Napi::Value& v) {
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  if (v.IsBigInt()) {
    bool lossless;
    return at::Scalar(v.As<Napi::BigInt>().Int64Value(&lossless));
  }
  // JS has one number type; an integral value acts as an integer scalar, as
  // Python's `x + 1` does, so integer tensors keep their dtype.
  double d = v.As<Napi::Number>().DoubleValue();
  if (std::trunc(d) == d && std::fabs(d) < 9007199254740992.0) return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}

at::ScalarType DType(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return at::kFloat;
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s == "float32") return at::kFloat;
  if (s == "float64") return at::kDouble;
  if (s == "int64") return at::kLong;
  if (s == "int32") return at::kInt;
  if (s == "uint8") return at::kByte;
  if (s == "bool") return at::kBool;
  if (s == "float16") return at::kHalf;
  throw Napi::TypeError::New(v.Env(), "unknown dtype '" + s + "'");
}

const char* DTypeName(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    case at::kHalf: return "float16";
    default: return "unsupported";
  }
}

at::Device Dev(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return at::Device(at::kCPU);
  return at::Device(v.As<Napi::String>().Utf8Value());
}

at::TensorOptions Opts(const Napi::Value& dtype, const Napi::Value& device) {
  return at::TensorOptions().dtype(DType(dtype)).device(Dev(device));
}

// ---------------------------------------------------------------- creation and reading

namespace {

size_t ElementSize(at::ScalarType t) { return c10::elementSize(t); }

// fromArray(typedArray, shape, dtype, device)
Napi::Value FromArray(const Napi::CallbackInfo& info) {
  Napi::TypedArray arr = info[0].As<Napi::TypedArray>();
  std::vector<int64_t> shape = Ints(info[1]);
  at::ScalarType dt = DType(info[2]);
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  size_t bytes = static_cast<size_t>(numel) * ElementSize(dt);
  if (arr.ByteLength() != bytes) {
    throw Napi::RangeError::New(info.Env(), "data holds " + std::to_string(arr.ByteLength()) +
                                                " bytes but shape and dtype need " + std::to_string(bytes));
  }
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dt));
  const uint8_t* src = static_cast<const uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
  if (bytes > 0) std::memcpy(t.data_ptr(), src, bytes);
  if (Has(info, 3)) t = t.to(Dev(info[3]));
  return Wrap(info.Env(), t);
}

// toArray(handle) -> TypedArray copy of the data (bool as Uint8Array)
Napi::Value ToArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor t = T(info[0]).detach();
  if (!t.device().is_cpu()) t = t.cpu();
  if (t.scalar_type() == at::kHalf) t = t.to(at::kFloat);
  t = t.contiguous();
  size_t n = static_cast<size_t>(t.numel());
  size_t bytes = n * ElementSize(t.scalar_type());
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, bytes);
  if (bytes > 0) std::memcpy(buf.Data(), t.data_ptr(), bytes);
  switch (t.scalar_type()) {
    case at::kFloat: return Napi::Float32Array::New(env, n, buf, 0);
    case at::kDouble: return Napi::Float64Array::New(env, n, buf, 0);
    case at::kLong: return Napi::BigInt64Array::New(env, n, buf, 0);
    case at::kInt: return Napi::Int32Array::New(env, n, buf, 0);
    case at::kByte:
    case at::kBool: return Napi::Uint8Array::New(env, n, buf, 0);
    default: throw Napi::TypeError::New(env, "cannot read this dtype");
  }
}

// item(handle) -> number (one element)
Napi::Value Item(const Napi::CallbackInfo& info) {
  at::Tensor& t = T(info[0]);
  return Napi::Number::New(info.Env(), t.item().toDouble());
}

// meta(handle) -> [shape, dtype, device, requiresGrad]
Napi::Value Shape(const Napi::CallbackInfo& info) {
  at::Tensor& t = T(info[0]);
  auto sizes = t.sizes();
  Napi::Array arr = Napi::Array::New(info.Env(), sizes.size());
  for (size_t i = 0; i < sizes.size(); i++) arr.Set(i, Napi::Number::New(info.Env(), static_cast<double>(sizes[i])));
  return arr;
}

Napi::Value DTypeOf(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), DTypeName(T(info[0]).scalar_type()));
}

Napi::Value DeviceOf(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), T(info[0]).device().str());
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  Table(info.Env()).Release(info.Env(), info[0]);
  return info.Env().Undefined();
}

Napi::Value IsLive(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Table(info.Env()).Live(info[0]));
}

Napi::Value Memory(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("numTensors", Napi::Number::New(info.Env(), static_cast<double>(g_liveTensors.load())));
  o.Set("numBytes", Napi::Number::New(info.Env(), static_cast<double>(g_liveBytes.load())));
  return o;
}

// to(handle, dtype|null, device|null, copy)
Napi::Value To(const Napi::CallbackInfo& info) {
  at::Tensor& t = T(info[0]);
  at::ScalarType dt = Has(info, 1) ? DType(info[1]) : t.scalar_type();
  at::Device dev = Has(info, 2) ? Dev(info[2]) : t.device();
  bool copy = Has(info, 3) && info[3].As<Napi::Boolean>().Value();
  return Wrap(info.Env(), t.to(dev, dt, /*non_blocking=*/false, copy));
}

// ---------------------------------------------------------------- factories

Napi::Value Zeros(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::zeros(Ints(info[0]), Opts(info[1], info[2])));
}
Napi::Value Ones(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::ones(Ints(info[0]), Opts(info[1], info[2])));
}
Napi::Value Empty(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::empty(Ints(info[0]), Opts(info[1], info[2])));
}
// full(shape, value, dtype, device)
Napi::Value Full(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::full(Ints(info[0]), S(info[1]), Opts(info[2], info[3])));
}
Napi::Value Rand(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::rand(Ints(info[0]), Opts(info[1], info[2])));
}
Napi::Value Randn(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::randn(Ints(info[0]), Opts(info[1], info[2])));
}
// randint(low, high, shape, dtype, device)
Napi::Value Randint(const Napi::CallbackInfo& info) {
  int64_t low = info[0].As<Napi::Number>().Int64Value();
  int64_t high = info[1].As<Napi::Number>().Int64Value();
  at::TensorOptions o = Opts(Has(info, 3) ? info[3] : Napi::String::New(info.Env(), "int64"), info[4]);
  return Wrap(info.Env(), at::randint(low, high, Ints(info[2]), o));
}
// randperm(n, device)
Napi::Value Randperm(const Napi::CallbackInfo& info) {
  int64_t n = info[0].As<Napi::Number>().Int64Value();
  return Wrap(info.Env(), at::randperm(n, at::TensorOptions().dtype(at::kLong).device(Dev(info[1]))));
}
// arange(start, end, step, dtype, device)
Napi::Value Arange(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::arange(S(info[0]), S(info[1]), S(info[2]), Opts(info[3], info[4])));
}
Napi::Value Eye(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::eye(info[0].As<Napi::Number>().Int64Value(), Opts(info[1], info[2])));
}

// ---------------------------------------------------------------- control

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  bool lossless;
  uint64_t seed = info[0].IsBigInt() ? info[0].As<Napi::BigInt>().Uint64Value(&lossless)
                                     : static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
  at::manual_seed(seed);
  return info.Env().Undefined();
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) throw Napi::RangeError::New(info.Env(), "threads must be >= 1, got " + std::to_string(n));
  at::set_num_threads(n);
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

// libtorch's own op profiler (the one torch.autograd.profiler uses): every
// op of the profiled steps with its wall time, written as a Chrome trace
// when stopped (bench step --profile).
std::unique_ptr<torch::autograd::profiler::RecordProfile> gProfile;

Napi::Value ProfilerStart(const Napi::CallbackInfo& info) {
  if (gProfile) throw Napi::Error::New(info.Env(), "the profiler is already running");
  gProfile = std::make_unique<torch::autograd::profiler::RecordProfile>(info[0].As<Napi::String>().Utf8Value());
  return info.Env().Undefined();
}

Napi::Value ProfilerStop(const Napi::CallbackInfo& info) {
  gProfile.reset();  // the destructor writes the trace
  return info.Env().Undefined();
}

Napi::Value CudaAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::hasCUDA());
}

Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  // A device-to-host copy of a scalar waits for all queued kernels.
  if (at::hasCUDA()) at::zeros({1}, at::TensorOptions().device(at::kCUDA)).cpu();
  return info.Env().Undefined();
}

}  // namespace

// Tensor storage comes from malloc. In a Node process glibc keeps its
// initial 128 KiB mmap threshold, so every large activation was mapped and
// unmapped anew each step: 3x the page faults of the same step in Python,
// and ~25% of its time. These are the values glibc's own dynamic threshold
// settles at in a PyTorch process, so freed blocks are reused instead.
static void TuneAllocator() {
#ifdef __GLIBC__
  static bool done = false;
  if (done) return;
  done = true;
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  TuneAllocator();
  env.SetInstanceData(new AddonData());

  TSNAS_EXPORT(exports, "fromArray", FromArray);
  TSNAS_EXPORT(exports, "toArray", ToArray);
  TSNAS_EXPORT(exports, "item", Item);
  TSNAS_EXPORT(exports, "shape", Shape);
  TSNAS_EXPORT(exports, "dtype", DTypeOf);
  TSNAS_EXPORT(exports, "device", DeviceOf);
  TSNAS_EXPORT(exports, "free", Free);
  TSNAS_EXPORT(exports, "isLive", IsLive);
  TSNAS_EXPORT(exports, "memory", Memory);
  TSNAS_EXPORT(exports, "to", To);
  TSNAS_EXPORT(exports, "zeros", Zeros);
  TSNAS_EXPORT(exports, "ones", Ones);
  TSNAS_EXPORT(exports, "empty", Empty);
  TSNAS_EXPORT(exports, "full", Full);
  TSNAS_EXPORT(exports, "rand", Rand);
  TSNAS_EXPORT(exports, "randn", Randn);
  TSNAS_EXPORT(exports, "randint", Randint);
  TSNAS_EXPORT(exports, "randperm", Randperm);
  TSNAS_EXPORT(exports, "arange", Arange);
  TSNAS_EXPORT(exports, "eye", Eye);
  TSNAS_EXPORT(exports, "manualSeed", ManualSeed);
  TSNAS_EXPORT(exports, "setNumThreads", SetNumThreads);
  TSNAS_EXPORT(exports, "getNumThreads", GetNumThreads);
  TSNAS_EXPORT(exports, "profilerStart", ProfilerStart);
  TSNAS_EXPORT(exports, "profilerStop", ProfilerStop);
  TSNAS_EXPORT(exports, "cudaAvailable", CudaAvailable);
  TSNAS_EXPORT(exports, "cudaSynchronize", CudaSynchronize);

  InitAutograd(env, exports);
  InitMath(env, exports);
  InitNN(env, exports);
  InitShape(env, exports);
  InitDepthwise(env, exports);
  InitWeightedSum(env, exports);
  return exports;
}

}  // namespace tsnas

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return tsnas::Init(env, exports); }

NODE_API_MODULE(tsnas_native, InitAddon)
