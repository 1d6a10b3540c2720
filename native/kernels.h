// Native CPU kernels that replace slow libtorch paths (depthwise
// convolution, max pooling), and the shared index arithmetic of their loops.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <atomic>

namespace tsnas {

// Hot loops are compiled for AVX-512, AVX2+FMA and baseline x86-64 and
// picked at load time, so the addon stays portable without -march=native.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TSNAS_CLONES __attribute__((target_clones("arch=skylake-avx512", "arch=haswell", "default")))
#else
#define TSNAS_CLONES
#endif

// Whether conv2d / maxPool2d route eligible calls to the native kernels
// (both on by default; off gives libtorch's kernels, for comparison).
extern std::atomic<bool> g_nativeDepthwise;
extern std::atomic<bool> g_nativeMaxPool;

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
bool DepthwiseEligible(const at::Tensor& x, const at::Tensor& w, int64_t groups, at::IntArrayRef dilation);
// Depthwise convolution whose gradients are the native loops; the forward is
// native or libtorch's.
at::Tensor DepthwiseConv2d(const at::Tensor& x, const at::Tensor& w, at::IntArrayRef stride, at::IntArrayRef padding,
                           at::IntArrayRef dilation, bool nativeForward);

bool MaxPoolEligible(const at::Tensor& x, at::IntArrayRef kernel, at::IntArrayRef stride, at::IntArrayRef padding,
                     at::IntArrayRef dilation, bool ceilMode);
at::Tensor MaxPool2d(const at::Tensor& x, at::IntArrayRef kernel, at::IntArrayRef stride, at::IntArrayRef padding);

}  // namespace tsnas
