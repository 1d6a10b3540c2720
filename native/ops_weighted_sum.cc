// weightedSum(terms, weights, indices) = Σ_k weights[indices[k]]·terms[k]
// as one autograd node. As a chain of mul and add it costs 2K-1 ops and K-1
// partial sums, and in the backward K mul and K select nodes whose sparse
// gradients are summed into the weights' (a DARTS mixed op has K = 7).
// Values are those of the chain bit for bit: each product is rounded before
// it is added, in the order of the terms, and the weight gradients are
// libtorch's own sum of grad·term.
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <vector>

#include "common.h"

// Contraction into FMA would round each product and sum once, not twice.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace tsnas {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// A tensor read as rows along dim 0, each row contiguous (a narrow along
// dim 1 of a contiguous tensor, as a cat's gradient hands out, is one).
struct Rows {
  int64_t count, length, stride;
};

bool AsRows(const at::Tensor& t, Rows* r) {
  if (t.dim() < 1 || !t.device().is_cpu() || t.scalar_type() != at::kFloat || t.is_mkldnn() || t.is_sparse()) return false;
  int64_t expected = 1;
  for (int64_t d = t.dim() - 1; d >= 1; d--) {
    if (t.size(d) != 1 && t.stride(d) != expected) return false;
    expected *= t.size(d);
  }
  *r = {t.size(0), expected, t.size(0) > 1 ? t.stride(0) : expected};
  return true;
}

// Whether the fused loops apply: float32 CPU terms of one shape, read as rows, and a float32 CPU weight vector.
bool Fusable(const std::vector<at::Tensor>& terms, const at::Tensor& w) {
  if (w.dim() != 1 || !w.device().is_cpu() || w.scalar_type() != at::kFloat || terms.empty()) return false;
  Rows r;
  for (const at::Tensor& t : terms)
    if (!t.sizes().equals(terms[0].sizes()) || !AsRows(t, &r)) return false;
  return true;
}

constexpr int64_t kBlock = 1024;  // floats per block: the block of the sum stays in L1 while the terms stream by

// out = Σ_k ws[k]·terms[k], each product rounded before the addition, as libtorch's mul then add.
at::Tensor ForwardRaw(const std::vector<at::Tensor>& terms, const std::vector<float>& ws) {
  at::Tensor out = at::empty(terms[0].sizes(), terms[0].options().memory_format(at::MemoryFormat::Contiguous));
  Rows shape;
  AsRows(out, &shape);
  std::vector<Rows> rows(terms.size());
  std::vector<const float*> base(terms.size());
  for (size_t k = 0; k < terms.size(); k++) {
    AsRows(terms[k], &rows[k]);
    base[k] = terms[k].data_ptr<float>();
  }
  float* o = out.data_ptr<float>();
  const int64_t blocksPerRow = (shape.length + kBlock - 1) / kBlock;
  at::parallel_for(0, shape.count * blocksPerRow, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; b++) {
      const int64_t row = b / blocksPerRow, from = (b % blocksPerRow) * kBlock;
      const int64_t n = std::min(kBlock, shape.length - from);
      float* dst = o + row * shape.length + from;
      const float* src = base[0] + row * rows[0].stride + from;
      const float w0 = ws[0];
      for (int64_t j = 0; j < n; j++) dst[j] = w0 * src[j];
      for (size_t k = 1; k < terms.size(); k++) {
        const float wk = ws[k];
        src = base[k] + row * rows[k].stride + from;
        for (int64_t j = 0; j < n; j++) dst[j] = dst[j] + wk * src[j];
      }
    }
  });
  return out;
}

// outs[k] = ws[k]·g for every k, in one pass over g.
std::vector<at::Tensor> ScaledCopies(const at::Tensor& g, const std::vector<float>& ws) {
  Rows in;
  AsRows(g, &in);
  std::vector<at::Tensor> outs;
  std::vector<float*> dst;
  for (size_t k = 0; k < ws.size(); k++) {
    outs.push_back(at::empty(g.sizes(), g.options().memory_format(at::MemoryFormat::Contiguous)));
    dst.push_back(outs.back().data_ptr<float>());
  }
  const float* src = g.data_ptr<float>();
  const int64_t blocksPerRow = (in.length + kBlock - 1) / kBlock;
  at::parallel_for(0, in.count * blocksPerRow, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; b++) {
      const int64_t row = b / blocksPerRow, from = (b % blocksPerRow) * kBlock;
      const int64_t n = std::min(kBlock, in.length - from);
      const float* s = src + row * in.stride + from;
      for (size_t k = 0; k < ws.size(); k++) {
        float* d = dst[k] + row * in.length + from;
        const float wk = ws[k];
        for (int64_t j = 0; j < n; j++) d[j] = s[j] * wk;
      }
    }
  });
  return outs;
}

std::vector<float> Gather(const at::Tensor& w, const std::vector<int64_t>& indices) {
  at::Tensor c = w.contiguous();
  const float* p = c.data_ptr<float>();
  std::vector<float> out;
  for (int64_t i : indices) out.push_back(p[i]);
  return out;
}

class WeightedSumFunction : public torch::autograd::Function<WeightedSumFunction> {
 public:
  // Inputs: w, then the terms (variables 1..K); indices is not a variable.
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& w, at::TensorList terms, std::vector<int64_t> indices) {
    std::vector<at::Tensor> saved{w};
    // The terms are needed only for w's gradient.
    if (w.requires_grad()) saved.insert(saved.end(), terms.begin(), terms.end());
    ctx->save_for_backward(saved);
    ctx->saved_data["indices"] = indices;
    return ForwardRaw(terms.vec(), Gather(w, indices));
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list saved = ctx->get_saved_variables();
    const at::Tensor& w = saved[0];
    const std::vector<int64_t> indices = ctx->saved_data["indices"].toIntVector();
    const size_t count = indices.size();
    variable_list out(count + 2);  // w, the terms, indices
    const at::Tensor& g = grads[0];
    if (!g.defined()) return out;
    Rows rows;
    const bool graph = at::GradMode::is_enabled();  // create_graph: libtorch ops, so that these gradients are differentiable
    std::vector<size_t> wanted;
    for (size_t k = 0; k < count; k++)
      if (ctx->needs_input_grad(k + 1)) wanted.push_back(k);
    if (!wanted.empty()) {
      if (graph || !AsRows(g, &rows)) {
        for (size_t k : wanted) out[k + 1] = at::mul(g, w.select(0, indices[k]));
      } else {
        std::vector<float> all = Gather(w, indices), ws;
        for (size_t k : wanted) ws.push_back(all[k]);
        std::vector<at::Tensor> scaled = ScaledCopies(g, ws);
        for (size_t i = 0; i < wanted.size(); i++) out[wanted[i] + 1] = scaled[i];
      }
    }
    if (ctx->needs_input_grad(0)) {
      // As MulBackward0 of term·w[i] then sum_to w[i]'s shape: sum(grad·term).
      std::vector<at::Tensor> parts(w.size(0));
      for (size_t k = 0; k < count; k++) parts[indices[k]] = at::mul(g, saved[k + 1]).sum();
      for (at::Tensor& p : parts)
        if (!p.defined()) p = at::zeros({}, w.options());
      out[0] = at::stack(parts);
    }
    return out;
  }
};

}  // namespace

at::Tensor WeightedSum(const std::vector<at::Tensor>& terms, const at::Tensor& w, const std::vector<int64_t>& indices) {
  TORCH_CHECK(!terms.empty(), "weightedSum: expected at least one term");
  TORCH_CHECK(terms.size() == indices.size(), "weightedSum: ", terms.size(), " terms but ", indices.size(), " indices");
  TORCH_CHECK(w.dim() == 1, "weightedSum: weights must be 1-d, got ", w.dim(), " dimensions");
  for (int64_t i : indices)
    TORCH_CHECK(i >= 0 && i < w.size(0), "weightedSum: index ", i, " out of range for ", w.size(0), " weights");
  if (!Fusable(terms, w)) {
    at::Tensor sum = at::mul(terms[0], w.select(0, indices[0]));
    for (size_t k = 1; k < terms.size(); k++) sum = at::add(sum, at::mul(terms[k], w.select(0, indices[k])));
    return sum;
  }
  const bool anyGrad = w.requires_grad() || std::any_of(terms.begin(), terms.end(), [](const at::Tensor& t) { return t.requires_grad(); });
  if (!at::GradMode::is_enabled() || !anyGrad) return ForwardRaw(terms, Gather(w, indices));
  return WeightedSumFunction::apply(w, at::TensorList(terms), indices);
}

namespace {

// weightedSum(terms, weights, indices)
Napi::Value WeightedSumJs(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), WeightedSum(TList(info[0]), T(info[1]), Ints(info[2])));
}

}  // namespace

void InitWeightedSum(Napi::Env env, Napi::Object exports) { TSNAS_EXPORT(exports, "weightedSum", WeightedSumJs); }

}  // namespace tsnas
