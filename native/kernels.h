// Native CPU kernels that replace slow libtorch paths (depthwise
// convolution, max and average pooling, training-mode batch norm), and the shared index arithmetic of their loops.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <atomic>

namespace tsnas {

// Hot loops are compiled for AVX-512F, AVX2 and baseline x86-64 and
// picked at load time, so the addon stays portable without -march=native.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TSNAS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TSNAS_CLONES
#endif

// Whether conv2d / maxPool2d / avgPool2d / batchNorm route eligible calls to
// the native kernels (all on by default; off gives libtorch's, for comparison).
extern std::atomic<bool> g_nativeDepthwise;
extern std::atomic<bool> g_nativeMaxPool;
extern std::atomic<bool> g_nativeAvgPool;
extern std::atomic<bool> g_nativeBatchNorm;
extern std::atomic<bool> g_nativePointwise;

// dst[j] += sum_i w[i] * src[i][j] for j < n (count sources).
void AccumulateTaps(float* __restrict dst, int64_t n, const float* const* src, const float* w, int64_t count);
// out[i] = sum_j g[j] * src[i][j] for j < n (count sources).
void DotTaps(const float* __restrict g, int64_t n, const float* const* src, float* out, int64_t count);

// The outputs o in [*lo, *hi) of a strided window whose input coordinate
// o * stride - pad + offset falls inside [0, size).
inline void OutputRange(int64_t size, int64_t outSize, int64_t stride, int64_t pad, int64_t offset, int64_t* lo,
                        int64_t* hi) {
  const int64_t first = pad - offset;               // need o * stride >= first
  const int64_t last = size - 1 + pad - offset;     // need o * stride <= last
  *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  *hi = last < 0 ? 0 : std::min(outSize, last / stride + 1);
  if (*hi < *lo) *hi = *lo;
}

// Whether conv2d should take DepthwiseConv2d: float32 CPU, one filter per
// channel, and a kernel whose libtorch backward is slow (not an undilated 3x3).
// A padded plane split into sh x sw phases: phase (a, b) holds padded pixel
// (i * sh + a, j * sw + b) at i * Wq + j, so a strided window tap reads one
// phase at a fixed offset and every tap becomes one contiguous loop over
// outputs laid out flat in rows of Wq (columns past the real width are scratch).
struct PhaseLayout {
  int64_t H, W, sh, sw, ph, pw, Hq, Wq;
  int64_t PS;  // floats per phase, with room for the scratch columns' overrun

  PhaseLayout(int64_t H_, int64_t W_, int64_t sh_, int64_t sw_, int64_t ph_, int64_t pw_, int64_t overrun)
      : H(H_), W(W_), sh(sh_), sw(sw_), ph(ph_), pw(pw_) {
    Hq = (H + 2 * ph + sh - 1) / sh;
    Wq = (W + 2 * pw + sw - 1) / sw;
    PS = (Hq * Wq + overrun + 15) / 16 * 16;
  }
  int64_t Phases() const { return sh * sw; }
  // Phase index and within-phase offset of a tap at padded (rh, rw) from the window origin.
  int64_t PhaseOf(int64_t rh, int64_t rw) const { return (rh % sh) * sw + rw % sw; }
  int64_t OffsetOf(int64_t rh, int64_t rw) const { return (rh / sh) * Wq + rw / sw; }

  // Writes one H x W plane into its phases, padding with fill.
  void ToPhases(const float* x, float* phases, float fill) const {
    std::fill(phases, phases + Phases() * PS, fill);
    for (int64_t ih = 0; ih < H; ih++) {
      const int64_t py = ih + ph;
      float* rowBase = phases + (py % sh) * sw * PS + (py / sh) * Wq;
      const float* src = x + ih * W;
      if (sw == 1) {
        std::copy(src, src + W, rowBase + pw);
        continue;
      }
      for (int64_t b = 0; b < sw; b++) {
        const int64_t iw0 = ((b - pw) % sw + sw) % sw;  // the first column with (iw + pw) % sw == b
        if (iw0 >= W) continue;
        float* dst = rowBase + b * PS + (iw0 + pw) / sw;
        const int64_t count = (W - iw0 + sw - 1) / sw;
        for (int64_t t = 0; t < count; t++) dst[t] = src[iw0 + t * sw];
      }
    }
  }

  // Reads one H x W plane back from its phases (padding dropped).
  void FromPhases(const float* phases, float* x) const {
    for (int64_t ih = 0; ih < H; ih++) {
      const int64_t py = ih + ph;
      const float* rowBase = phases + (py % sh) * sw * PS + (py / sh) * Wq;
      float* dst = x + ih * W;
      if (sw == 1) {
        std::copy(rowBase + pw, rowBase + pw + W, dst);
        continue;
      }
      for (int64_t b = 0; b < sw; b++) {
        const int64_t iw0 = ((b - pw) % sw + sw) % sw;
        if (iw0 >= W) continue;
        const float* src = rowBase + b * PS + (iw0 + pw) / sw;
        const int64_t count = (W - iw0 + sw - 1) / sw;
        for (int64_t t = 0; t < count; t++) dst[iw0 + t * sw] = src[t];
      }
    }
  }
};

bool DepthwiseEligible(const at::Tensor& x, const at::Tensor& w, int64_t groups, at::IntArrayRef dilation);
// Depthwise convolution whose gradients are the native loops; the forward is
// native or libtorch's.
at::Tensor DepthwiseConv2d(const at::Tensor& x, const at::Tensor& w, at::IntArrayRef stride, at::IntArrayRef padding,
                           at::IntArrayRef dilation, bool nativeForward);

// 1x1 convolution (stride 1, no padding or dilation, one group, few
// channels) of float32 CPU tensors as direct loops, forward and gradients.
bool PointwiseEligible(const at::Tensor& x, const at::Tensor& w, int64_t groups, at::IntArrayRef stride,
                       at::IntArrayRef padding, at::IntArrayRef dilation);
at::Tensor PointwiseConv2d(const at::Tensor& x, const at::Tensor& w);

bool MaxPoolEligible(const at::Tensor& x, at::IntArrayRef kernel, at::IntArrayRef stride, at::IntArrayRef padding,
                     at::IntArrayRef dilation, bool ceilMode);
at::Tensor MaxPool2d(const at::Tensor& x, at::IntArrayRef kernel, at::IntArrayRef stride, at::IntArrayRef padding);

bool AvgPoolEligible(const at::Tensor& x, at::IntArrayRef kernel, at::IntArrayRef stride, at::IntArrayRef padding, bool ceilMode);
at::Tensor AvgPool2d(const at::Tensor& x, at::IntArrayRef kernel, at::IntArrayRef stride, at::IntArrayRef padding,
                     bool countIncludePad);

// Training-mode batch norm without affine parameters (float32 CPU, 4-d, at
// least 1024 values per channel).
bool BatchNormEligible(const at::Tensor& x, const c10::optional<at::Tensor>& weight, const c10::optional<at::Tensor>& bias,
                       const c10::optional<at::Tensor>& runningMean, const c10::optional<at::Tensor>& runningVar,
                       bool training);
at::Tensor BatchNormTraining(const at::Tensor& x, const c10::optional<at::Tensor>& runningMean,
                             const c10::optional<at::Tensor>& runningVar, double momentum, double eps);

}  // namespace tsnas
