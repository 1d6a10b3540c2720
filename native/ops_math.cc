// Elementwise math, comparisons, reductions, matmul, linear algebra, and the
// in-place variants optimizers use.
#include "common.h"

namespace tsnas {
namespace {

#define UNARY(NAME, EXPR)                                  \
  Napi::Value NAME(const Napi::CallbackInfo& info) {       \
    const at::Tensor& x = T(info[0]);                      \
    return Wrap(info.Env(), EXPR);                         \
  }

UNARY(Neg, at::neg(x))
UNARY(Abs, at::abs(x))
UNARY(Sign, at::sign(x))
UNARY(Log, at::log(x))
UNARY(Exp, at::exp(x))
UNARY(Sqrt, at::sqrt(x))
UNARY(Rsqrt, at::rsqrt(x))
UNARY(Reciprocal, at::reciprocal(x))
UNARY(Square, at::square(x))
UNARY(Relu, at::relu(x))
UNARY(Relu6, at::hardtanh(x, 0, 6))
UNARY(Sigmoid, at::sigmoid(x))
UNARY(Tanh, at::tanh(x))
UNARY(Silu, at::silu(x))
UNARY(Mish, at::mish(x))
UNARY(Hardswish, at::hardswish(x))
UNARY(Hardsigmoid, at::hardsigmoid(x))
UNARY(Softplus, at::softplus(x))
UNARY(Floor, at::floor(x))
UNARY(Round, at::round(x))
UNARY(LogicalNot, at::logical_not(x))
UNARY(IsNan, at::isnan(x))
UNARY(Matrix_T, x.t())

Napi::Value Gelu(const Napi::CallbackInfo& info) {
  std::string approx = Has(info, 1) ? info[1].As<Napi::String>().Utf8Value() : "none";
  return Wrap(info.Env(), at::gelu(T(info[0]), approx));
}

Napi::Value LeakyRelu(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::leaky_relu(T(info[0]), S(info[1])));
}

// Tensors travel as numbers too, so an operand that is a plain number says
// so with a flag after the operands: op(a, b, bIsScalar).
bool ScalarArg(const Napi::CallbackInfo& info, size_t flag) { return Has(info, flag) && info[flag].ToBoolean().Value(); }

// Binary ops take a tensor or a number as the second operand.
#define BINARY(NAME, FN)                                                    \
  Napi::Value NAME(const Napi::CallbackInfo& info) {                        \
    const at::Tensor& a = T(info[0]);                                       \
    if (ScalarArg(info, 2)) return Wrap(info.Env(), FN(a, S(info[1])));     \
    return Wrap(info.Env(), FN(a, T(info[1])));                             \
  }

BINARY(Add, at::add)
BINARY(Sub, at::sub)
BINARY(Mul, at::mul)
BINARY(Div, at::div)
BINARY(Pow, at::pow)
BINARY(Eq, at::eq)
BINARY(Ne, at::ne)
BINARY(Lt, at::lt)
BINARY(Le, at::le)
BINARY(Gt, at::gt)
BINARY(Ge, at::ge)
BINARY(Fmod, at::fmod)

Napi::Value Maximum(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::maximum(T(info[0]), T(info[1])));
}
Napi::Value Minimum(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::minimum(T(info[0]), T(info[1])));
}
Napi::Value LogicalAnd(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::logical_and(T(info[0]), T(info[1])));
}
Napi::Value LogicalOr(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::logical_or(T(info[0]), T(info[1])));
}

// rsub(x, number): number - x
Napi::Value Rsub(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::rsub(T(info[0]), S(info[1])));
}

// clamp(x, min|null, max|null)
Napi::Value Clamp(const Napi::CallbackInfo& info) {
  c10::optional<at::Scalar> lo, hi;
  if (Has(info, 1)) lo = S(info[1]);
  if (Has(info, 2)) hi = S(info[2]);
  return Wrap(info.Env(), at::clamp(T(info[0]), lo, hi));
}

// where(cond, a, b, aIsScalar, bIsScalar)
Napi::Value Where(const Napi::CallbackInfo& info) {
  const at::Tensor& c = T(info[0]);
  bool ta = !ScalarArg(info, 3), tb = !ScalarArg(info, 4);
  if (ta && tb) return Wrap(info.Env(), at::where(c, T(info[1]), T(info[2])));
  if (ta) return Wrap(info.Env(), at::where(c, T(info[1]), S(info[2])));
  if (tb) return Wrap(info.Env(), at::where(c, S(info[1]), T(info[2])));
  return Wrap(info.Env(), at::where(c, S(info[1]), S(info[2])));
}

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::matmul(T(info[0]), T(info[1])));
}

// ---------------------------------------------------------------- reductions
// dims: null means all dimensions.

c10::optional<std::vector<int64_t>> OptDims(const Napi::CallbackInfo& info, size_t i) {
  if (!Has(info, i)) return c10::nullopt;
  return Ints(info[i]);
}
bool Flag(const Napi::CallbackInfo& info, size_t i) { return Has(info, i) && info[i].ToBoolean().Value(); }

// sum(x, dims|null, keepdim, dtype|null)
Napi::Value Sum(const Napi::CallbackInfo& info) {
  c10::optional<at::ScalarType> dt;
  if (Has(info, 3)) dt = DType(info[3]);
  auto dims = OptDims(info, 1);
  if (!dims) return Wrap(info.Env(), at::sum(T(info[0]), dt));
  return Wrap(info.Env(), at::sum(T(info[0]), *dims, Flag(info, 2), dt));
}

Napi::Value Mean(const Napi::CallbackInfo& info) {
  auto dims = OptDims(info, 1);
  if (!dims) return Wrap(info.Env(), at::mean(T(info[0])));
  return Wrap(info.Env(), at::mean(T(info[0]), *dims, Flag(info, 2)));
}

Napi::Value Amax(const Napi::CallbackInfo& info) {
  auto dims = OptDims(info, 1);
  return Wrap(info.Env(), at::amax(T(info[0]), dims ? at::IntArrayRef(*dims) : at::IntArrayRef(), Flag(info, 2)));
}

Napi::Value Amin(const Napi::CallbackInfo& info) {
  auto dims = OptDims(info, 1);
  return Wrap(info.Env(), at::amin(T(info[0]), dims ? at::IntArrayRef(*dims) : at::IntArrayRef(), Flag(info, 2)));
}

// maxDim(x, dim, keepdim) -> [values, indices]
Napi::Value MaxDim(const Napi::CallbackInfo& info) {
  auto r = at::max(T(info[0]), info[1].As<Napi::Number>().Int64Value(), Flag(info, 2));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}
Napi::Value MinDim(const Napi::CallbackInfo& info) {
  auto r = at::min(T(info[0]), info[1].As<Napi::Number>().Int64Value(), Flag(info, 2));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}

// argmax(x, dim|null, keepdim)
Napi::Value Argmax(const Napi::CallbackInfo& info) {
  c10::optional<int64_t> dim;
  if (Has(info, 1)) dim = info[1].As<Napi::Number>().Int64Value();
  return Wrap(info.Env(), at::argmax(T(info[0]), dim, Flag(info, 2)));
}
Napi::Value Argmin(const Napi::CallbackInfo& info) {
  c10::optional<int64_t> dim;
  if (Has(info, 1)) dim = info[1].As<Napi::Number>().Int64Value();
  return Wrap(info.Env(), at::argmin(T(info[0]), dim, Flag(info, 2)));
}

// var(x, dims|null, unbiased, keepdim)
Napi::Value Var(const Napi::CallbackInfo& info) {
  auto dims = OptDims(info, 1);
  bool unbiased = !Has(info, 2) || info[2].ToBoolean().Value();
  at::OptionalIntArrayRef d = dims ? at::OptionalIntArrayRef(*dims) : c10::nullopt;
  return Wrap(info.Env(), at::var(T(info[0]), d, unbiased, Flag(info, 3)));
}
Napi::Value Std(const Napi::CallbackInfo& info) {
  auto dims = OptDims(info, 1);
  bool unbiased = !Has(info, 2) || info[2].ToBoolean().Value();
  at::OptionalIntArrayRef d = dims ? at::OptionalIntArrayRef(*dims) : c10::nullopt;
  return Wrap(info.Env(), at::std(T(info[0]), d, unbiased, Flag(info, 3)));
}

// norm(x, p, dims|null, keepdim)
Napi::Value Norm(const Napi::CallbackInfo& info) {
  auto dims = OptDims(info, 2);
  at::OptionalIntArrayRef d = dims ? at::OptionalIntArrayRef(*dims) : c10::nullopt;
  return Wrap(info.Env(), at::linalg_vector_norm(T(info[0]), S(info[1]), d, Flag(info, 3)));
}

Napi::Value Logsumexp(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::logsumexp(T(info[0]), Ints(info[1]), Flag(info, 2)));
}

Napi::Value Cumsum(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::cumsum(T(info[0]), info[1].As<Napi::Number>().Int64Value()));
}

// sort(x, dim, descending) -> [values, indices]
Napi::Value Sort(const Napi::CallbackInfo& info) {
  auto r = at::sort(T(info[0]), info[1].As<Napi::Number>().Int64Value(), Flag(info, 2));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}

// topk(x, k, dim, largest) -> [values, indices]
Napi::Value Topk(const Napi::CallbackInfo& info) {
  bool largest = !Has(info, 3) || info[3].ToBoolean().Value();
  auto r = at::topk(T(info[0]), info[1].As<Napi::Number>().Int64Value(), info[2].As<Napi::Number>().Int64Value(),
                    largest);
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}

// ---------------------------------------------------------------- linear algebra

// slogdet(x) -> [sign, logabsdet]
Napi::Value Slogdet(const Napi::CallbackInfo& info) {
  auto r = at::linalg_slogdet(T(info[0]));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}
Napi::Value Eigvalsh(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::linalg_eigvalsh(T(info[0])));
}
Napi::Value Corrcoef(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::corrcoef(T(info[0])));
}

// ---------------------------------------------------------------- in place
// Each returns nothing; the handle passed in is modified.
// op_(a, b, bIsScalar)
#define INPLACE_BINARY(NAME, METHOD)                                       \
  Napi::Value NAME(const Napi::CallbackInfo& info) {                       \
    at::Tensor& a = T(info[0]);                                            \
    if (ScalarArg(info, 2)) a.METHOD(S(info[1]));                          \
    else a.METHOD(T(info[1]));                                             \
    return info.Env().Undefined();                                         \
  }

INPLACE_BINARY(Mul_, mul_)
INPLACE_BINARY(Div_, div_)
INPLACE_BINARY(Fill_, fill_)

// add_(x, other, alpha, otherIsScalar)
Napi::Value Add_(const Napi::CallbackInfo& info) {
  at::Tensor& a = T(info[0]);
  at::Scalar alpha = Has(info, 2) ? S(info[2]) : at::Scalar(1);
  if (ScalarArg(info, 3)) a.add_(S(info[1]), alpha);
  else a.add_(T(info[1]), alpha);
  return info.Env().Undefined();
}
Napi::Value Sub_(const Napi::CallbackInfo& info) {
  at::Tensor& a = T(info[0]);
  at::Scalar alpha = Has(info, 2) ? S(info[2]) : at::Scalar(1);
  if (ScalarArg(info, 3)) a.sub_(S(info[1]), alpha);
  else a.sub_(T(info[1]), alpha);
  return info.Env().Undefined();
}
// addcmul_(x, t1, t2, value)
Napi::Value Addcmul_(const Napi::CallbackInfo& info) {
  T(info[0]).addcmul_(T(info[1]), T(info[2]), Has(info, 3) ? S(info[3]) : at::Scalar(1));
  return info.Env().Undefined();
}
Napi::Value Addcdiv_(const Napi::CallbackInfo& info) {
  T(info[0]).addcdiv_(T(info[1]), T(info[2]), Has(info, 3) ? S(info[3]) : at::Scalar(1));
  return info.Env().Undefined();
}
// lerp_(x, end, weight)
Napi::Value Lerp_(const Napi::CallbackInfo& info) {
  T(info[0]).lerp_(T(info[1]), S(info[2]));
  return info.Env().Undefined();
}
Napi::Value Zero_(const Napi::CallbackInfo& info) {
  T(info[0]).zero_();
  return info.Env().Undefined();
}
Napi::Value Copy_(const Napi::CallbackInfo& info) {
  T(info[0]).copy_(T(info[1]));
  return info.Env().Undefined();
}
Napi::Value Sqrt_(const Napi::CallbackInfo& info) {
  T(info[0]).sqrt_();
  return info.Env().Undefined();
}
Napi::Value Clamp_(const Napi::CallbackInfo& info) {
  c10::optional<at::Scalar> lo, hi;
  if (Has(info, 1)) lo = S(info[1]);
  if (Has(info, 2)) hi = S(info[2]);
  T(info[0]).clamp_(lo, hi);
  return info.Env().Undefined();
}
// uniform_(x, from, to)
Napi::Value Uniform_(const Napi::CallbackInfo& info) {
  T(info[0]).uniform_(info[1].As<Napi::Number>().DoubleValue(), info[2].As<Napi::Number>().DoubleValue());
  return info.Env().Undefined();
}
// normal_(x, mean, std)
Napi::Value Normal_(const Napi::CallbackInfo& info) {
  T(info[0]).normal_(info[1].As<Napi::Number>().DoubleValue(), info[2].As<Napi::Number>().DoubleValue());
  return info.Env().Undefined();
}
Napi::Value Bernoulli_(const Napi::CallbackInfo& info) {
  T(info[0]).bernoulli_(info[1].As<Napi::Number>().DoubleValue());
  return info.Env().Undefined();
}
// maskedFill_(x, mask, value)
Napi::Value MaskedFill_(const Napi::CallbackInfo& info) {
  T(info[0]).masked_fill_(T(info[1]), S(info[2]));
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- multi-tensor (optimizers)
// One call updates a whole parameter list, as torch.optim's foreach path does.

// foreachAdd_(xs, ys, alpha)
Napi::Value ForeachAdd_(const Napi::CallbackInfo& info) {
  auto xs = TList(info[0]);
  at::_foreach_add_(xs, TList(info[1]), S(info[2]));
  return info.Env().Undefined();
}
// foreachMulScalar_(xs, s)
Napi::Value ForeachMulScalar_(const Napi::CallbackInfo& info) {
  auto xs = TList(info[0]);
  at::_foreach_mul_(xs, S(info[1]));
  return info.Env().Undefined();
}
// foreachAddcmul_(xs, as, bs, value)
Napi::Value ForeachAddcmul_(const Napi::CallbackInfo& info) {
  auto xs = TList(info[0]);
  at::_foreach_addcmul_(xs, TList(info[1]), TList(info[2]), S(info[3]));
  return info.Env().Undefined();
}
// foreachAddcdiv_(xs, as, bs, value)
Napi::Value ForeachAddcdiv_(const Napi::CallbackInfo& info) {
  auto xs = TList(info[0]);
  at::_foreach_addcdiv_(xs, TList(info[1]), TList(info[2]), S(info[3]));
  return info.Env().Undefined();
}
// foreachSqrt(xs) -> list
Napi::Value ForeachSqrt(const Napi::CallbackInfo& info) {
  return WrapList(info.Env(), at::_foreach_sqrt(TList(info[0])));
}
// foreachNorm(xs) -> list of 2-norms
Napi::Value ForeachNorm(const Napi::CallbackInfo& info) {
  return WrapList(info.Env(), at::_foreach_norm(TList(info[0]), 2));
}

}  // namespace

void InitMath(Napi::Env env, Napi::Object exports) {
  TSNAS_EXPORT(exports, "neg", Neg);
  TSNAS_EXPORT(exports, "abs", Abs);
  TSNAS_EXPORT(exports, "sign", Sign);
  TSNAS_EXPORT(exports, "log", Log);
  TSNAS_EXPORT(exports, "exp", Exp);
  TSNAS_EXPORT(exports, "sqrt", Sqrt);
  TSNAS_EXPORT(exports, "rsqrt", Rsqrt);
  TSNAS_EXPORT(exports, "reciprocal", Reciprocal);
  TSNAS_EXPORT(exports, "square", Square);
  TSNAS_EXPORT(exports, "relu", Relu);
  TSNAS_EXPORT(exports, "relu6", Relu6);
  TSNAS_EXPORT(exports, "sigmoid", Sigmoid);
  TSNAS_EXPORT(exports, "tanh", Tanh);
  TSNAS_EXPORT(exports, "silu", Silu);
  TSNAS_EXPORT(exports, "mish", Mish);
  TSNAS_EXPORT(exports, "hardswish", Hardswish);
  TSNAS_EXPORT(exports, "hardsigmoid", Hardsigmoid);
  TSNAS_EXPORT(exports, "softplus", Softplus);
  TSNAS_EXPORT(exports, "floor", Floor);
  TSNAS_EXPORT(exports, "round", Round);
  TSNAS_EXPORT(exports, "logicalNot", LogicalNot);
  TSNAS_EXPORT(exports, "isnan", IsNan);
  TSNAS_EXPORT(exports, "t", Matrix_T);
  TSNAS_EXPORT(exports, "gelu", Gelu);
  TSNAS_EXPORT(exports, "leakyRelu", LeakyRelu);
  TSNAS_EXPORT(exports, "add", Add);
  TSNAS_EXPORT(exports, "sub", Sub);
  TSNAS_EXPORT(exports, "mul", Mul);
  TSNAS_EXPORT(exports, "div", Div);
  TSNAS_EXPORT(exports, "pow", Pow);
  TSNAS_EXPORT(exports, "eq", Eq);
  TSNAS_EXPORT(exports, "ne", Ne);
  TSNAS_EXPORT(exports, "lt", Lt);
  TSNAS_EXPORT(exports, "le", Le);
  TSNAS_EXPORT(exports, "gt", Gt);
  TSNAS_EXPORT(exports, "ge", Ge);
  TSNAS_EXPORT(exports, "fmod", Fmod);
  TSNAS_EXPORT(exports, "maximum", Maximum);
  TSNAS_EXPORT(exports, "minimum", Minimum);
  TSNAS_EXPORT(exports, "logicalAnd", LogicalAnd);
  TSNAS_EXPORT(exports, "logicalOr", LogicalOr);
  TSNAS_EXPORT(exports, "rsub", Rsub);
  TSNAS_EXPORT(exports, "clamp", Clamp);
  TSNAS_EXPORT(exports, "where", Where);
  TSNAS_EXPORT(exports, "matmul", Matmul);
  TSNAS_EXPORT(exports, "sum", Sum);
  TSNAS_EXPORT(exports, "mean", Mean);
  TSNAS_EXPORT(exports, "amax", Amax);
  TSNAS_EXPORT(exports, "amin", Amin);
  TSNAS_EXPORT(exports, "maxDim", MaxDim);
  TSNAS_EXPORT(exports, "minDim", MinDim);
  TSNAS_EXPORT(exports, "argmax", Argmax);
  TSNAS_EXPORT(exports, "argmin", Argmin);
  TSNAS_EXPORT(exports, "var", Var);
  TSNAS_EXPORT(exports, "std", Std);
  TSNAS_EXPORT(exports, "norm", Norm);
  TSNAS_EXPORT(exports, "logsumexp", Logsumexp);
  TSNAS_EXPORT(exports, "cumsum", Cumsum);
  TSNAS_EXPORT(exports, "sort", Sort);
  TSNAS_EXPORT(exports, "topk", Topk);
  TSNAS_EXPORT(exports, "slogdet", Slogdet);
  TSNAS_EXPORT(exports, "eigvalsh", Eigvalsh);
  TSNAS_EXPORT(exports, "corrcoef", Corrcoef);
  TSNAS_EXPORT(exports, "mul_", Mul_);
  TSNAS_EXPORT(exports, "div_", Div_);
  TSNAS_EXPORT(exports, "fill_", Fill_);
  TSNAS_EXPORT(exports, "add_", Add_);
  TSNAS_EXPORT(exports, "sub_", Sub_);
  TSNAS_EXPORT(exports, "addcmul_", Addcmul_);
  TSNAS_EXPORT(exports, "addcdiv_", Addcdiv_);
  TSNAS_EXPORT(exports, "lerp_", Lerp_);
  TSNAS_EXPORT(exports, "zero_", Zero_);
  TSNAS_EXPORT(exports, "copy_", Copy_);
  TSNAS_EXPORT(exports, "sqrt_", Sqrt_);
  TSNAS_EXPORT(exports, "clamp_", Clamp_);
  TSNAS_EXPORT(exports, "uniform_", Uniform_);
  TSNAS_EXPORT(exports, "normal_", Normal_);
  TSNAS_EXPORT(exports, "bernoulli_", Bernoulli_);
  TSNAS_EXPORT(exports, "maskedFill_", MaskedFill_);
  TSNAS_EXPORT(exports, "foreachAdd_", ForeachAdd_);
  TSNAS_EXPORT(exports, "foreachMulScalar_", ForeachMulScalar_);
  TSNAS_EXPORT(exports, "foreachAddcmul_", ForeachAddcmul_);
  TSNAS_EXPORT(exports, "foreachAddcdiv_", ForeachAddcdiv_);
  TSNAS_EXPORT(exports, "foreachSqrt", ForeachSqrt);
  TSNAS_EXPORT(exports, "foreachNorm", ForeachNorm);
}

}  // namespace tsnas
