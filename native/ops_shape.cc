// Shape, joining, splitting and indexing.
#include "common.h"

namespace tsnas {
namespace {

int64_t I(const Napi::Value& v) { return v.As<Napi::Number>().Int64Value(); }

Napi::Value Reshape(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::reshape(T(info[0]), Ints(info[1])));
}
Napi::Value View(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), T(info[0]).view(Ints(info[1])));
}
Napi::Value Permute(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), T(info[0]).permute(Ints(info[1])));
}
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::transpose(T(info[0]), I(info[1]), I(info[2])));
}
// flatten(x, startDim, endDim)
Napi::Value Flatten(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::flatten(T(info[0]), I(info[1]), I(info[2])));
}
Napi::Value Contiguous(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), T(info[0]).contiguous());
}
Napi::Value Clone(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::clone(T(info[0])));
}
Napi::Value Squeeze(const Napi::CallbackInfo& info) {
  if (!Has(info, 1)) return Wrap(info.Env(), at::squeeze(T(info[0])));
  return Wrap(info.Env(), at::squeeze(T(info[0]), I(info[1])));
}
Napi::Value Unsqueeze(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::unsqueeze(T(info[0]), I(info[1])));
}
Napi::Value Expand(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), T(info[0]).expand(Ints(info[1])));
}
Napi::Value Repeat(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), T(info[0]).repeat(Ints(info[1])));
}
// cat(list, dim), stack(list, dim)
Napi::Value Cat(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::cat(TList(info[0]), I(info[1])));
}
Napi::Value Stack(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::stack(TList(info[0]), I(info[1])));
}
// split(x, sizeOrSizes, dim) -> list
Napi::Value Split(const Napi::CallbackInfo& info) {
  if (info[1].IsNumber()) return WrapList(info.Env(), at::split(T(info[0]), I(info[1]), I(info[2])));
  return WrapList(info.Env(), at::split_with_sizes(T(info[0]), Ints(info[1]), I(info[2])));
}
Napi::Value Chunk(const Napi::CallbackInfo& info) {
  return WrapList(info.Env(), at::chunk(T(info[0]), I(info[1]), I(info[2])));
}
// narrow(x, dim, start, length)
Napi::Value Narrow(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::narrow(T(info[0]), I(info[1]), I(info[2]), I(info[3])));
}
// slice(x, dim, start, end, step)
Napi::Value Slice(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::slice(T(info[0]), I(info[1]), I(info[2]), I(info[3]), I(info[4])));
}
// select(x, dim, index)
Napi::Value Select(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::select(T(info[0]), I(info[1]), I(info[2])));
}
// indexSelect(x, dim, index)
Napi::Value IndexSelect(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::index_select(T(info[0]), I(info[1]), T(info[2])));
}
// gather(x, dim, index)
Napi::Value Gather(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::gather(T(info[0]), I(info[1]), T(info[2])));
}

c10::List<c10::optional<at::Tensor>> IndexList(const Napi::Value& v) {
  Napi::Array arr = v.As<Napi::Array>();
  c10::List<c10::optional<at::Tensor>> out;
  for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(OptT(arr.Get(i)));
  return out;
}

// index(x, [idx|null, ...]): advanced indexing with index tensors, x[:, idx]
Napi::Value Index(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::index(T(info[0]), IndexList(info[1])));
}
// indexPut(x, [idx|null, ...], values, accumulate) -> new tensor (differentiable)
Napi::Value IndexPut(const Napi::CallbackInfo& info) {
  bool acc = Has(info, 3) && info[3].ToBoolean().Value();
  return Wrap(info.Env(), at::index_put(T(info[0]), IndexList(info[1]), T(info[2]), acc));
}
// scatter(x, dim, index, src)
Napi::Value Scatter(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::scatter(T(info[0]), I(info[1]), T(info[2]), T(info[3])));
}
// maskedSelect(x, mask)
Napi::Value MaskedSelect(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::masked_select(T(info[0]), T(info[1])));
}
Napi::Value Nonzero(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::nonzero(T(info[0])));
}
// flip(x, dims)
Napi::Value Flip(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::flip(T(info[0]), Ints(info[1])));
}
// roll(x, shifts, dims)
Napi::Value Roll(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::roll(T(info[0]), Ints(info[1]), Ints(info[2])));
}

}  // namespace

void InitShape(Napi::Env env, Napi::Object exports) {
  TSNAS_EXPORT(exports, "reshape", Reshape);
  TSNAS_EXPORT(exports, "view", View);
  TSNAS_EXPORT(exports, "permute", Permute);
  TSNAS_EXPORT(exports, "transpose", Transpose);
  TSNAS_EXPORT(exports, "flatten", Flatten);
  TSNAS_EXPORT(exports, "contiguous", Contiguous);
  TSNAS_EXPORT(exports, "clone", Clone);
  TSNAS_EXPORT(exports, "squeeze", Squeeze);
  TSNAS_EXPORT(exports, "unsqueeze", Unsqueeze);
  TSNAS_EXPORT(exports, "expand", Expand);
  TSNAS_EXPORT(exports, "repeat", Repeat);
  TSNAS_EXPORT(exports, "cat", Cat);
  TSNAS_EXPORT(exports, "stack", Stack);
  TSNAS_EXPORT(exports, "split", Split);
  TSNAS_EXPORT(exports, "chunk", Chunk);
  TSNAS_EXPORT(exports, "narrow", Narrow);
  TSNAS_EXPORT(exports, "slice", Slice);
  TSNAS_EXPORT(exports, "select", Select);
  TSNAS_EXPORT(exports, "indexSelect", IndexSelect);
  TSNAS_EXPORT(exports, "gather", Gather);
  TSNAS_EXPORT(exports, "index", Index);
  TSNAS_EXPORT(exports, "indexPut", IndexPut);
  TSNAS_EXPORT(exports, "scatter", Scatter);
  TSNAS_EXPORT(exports, "maskedSelect", MaskedSelect);
  TSNAS_EXPORT(exports, "nonzero", Nonzero);
  TSNAS_EXPORT(exports, "flip", Flip);
  TSNAS_EXPORT(exports, "roll", Roll);
}

}  // namespace tsnas
