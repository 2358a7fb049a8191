// Fused cyclic shift + window partition (and its inverse) on the CPU: one pass, one copy.
//
// x (B x H x W x C), windows (B*nW x ws*ws x C), nW = (H/ws) * (W/ws), both contiguous.
// Row h of x lands in row hs = (h - shiftH) mod H of the rolled image, i.e. window row
// wh = hs / ws, in-window row i = hs % ws (likewise w -> ww, j):
//   windows[b*nW + wh*(W/ws) + ww, i*ws + j, :] <-> x[b, h, w, :]
// The map is a bijection, so both directions are the same loop with source and destination
// swapped, and every output element is written exactly once (no races under parallel_for).
// Elements are moved as bytes: every dtype works without dispatch.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/swin/swin.h"

namespace tn {
namespace swin {
namespace cpu {

void rollPartitionKernel(const at::Tensor& x, const at::Tensor& windows, int64_t ws, int64_t shiftH,
                         int64_t shiftW, bool toWindows) {
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  const int64_t nWw = W / ws, nW = (H / ws) * nWw, N = ws * ws;
  const int64_t rowBytes = C * static_cast<int64_t>(x.element_size());
  if (B == 0 || H == 0 || W == 0 || rowBytes == 0) return;
  char* xp = static_cast<char*>(x.data_ptr());
  char* wp = static_cast<char*>(windows.data_ptr());
  // ~64 KiB of copying per task.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, W * rowBytes));
  at::parallel_for(0, B * H, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / H, h = r % H;
      // hs <- position of row h in the rolled image
      const int64_t hs = h >= shiftH ? h - shiftH : h - shiftH + H;
      const int64_t wh = hs / ws, i = hs % ws;
      char* xRow = xp + (r * W) * rowBytes;
      char* wBase = wp + ((b * nW + wh * nWw) * N + i * ws) * rowBytes;
      for (int64_t w = 0; w < W; ++w) {
        const int64_t wsPos = w >= shiftW ? w - shiftW : w - shiftW + W;
        // run <- tokens contiguous on both sides: same window, no wrap of the roll
        const int64_t ww = wsPos / ws, j = wsPos % ws;
        const int64_t len = std::min(ws - j, w < shiftW ? shiftW - w : W - w);
        char* tok = wBase + (ww * N + j) * rowBytes;
        if (toWindows) {
          std::memcpy(tok, xRow + w * rowBytes, len * rowBytes);
        } else {
          std::memcpy(xRow + w * rowBytes, tok, len * rowBytes);
        }
        w += len - 1;
      }
    }
  });
}

// x (B x H x W x C) <-> merged (B x H/2 x W/2 x 4C):
//   merged[b, i, j, k*C:(k+1)*C] = x[b, 2i + (k & 1), 2j + (k >> 1), :]
// (k = 0: (0, 0), 1: (1, 0), 2: (0, 1), 3: (1, 1), the official cat order). A bijection.
void patchMergeKernel(const at::Tensor& x, const at::Tensor& merged, bool toMerged) {
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  const int64_t H2 = H / 2, W2 = W / 2;
  const int64_t rowBytes = C * static_cast<int64_t>(x.element_size());
  if (B == 0 || H2 == 0 || W2 == 0 || rowBytes == 0) return;
  char* xp = static_cast<char*>(x.data_ptr());
  char* mp = static_cast<char*>(merged.data_ptr());
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, 4 * W2 * rowBytes));
  at::parallel_for(0, B * H2, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / H2, i = r % H2;
      for (int64_t j = 0; j < W2; ++j) {
        char* out = mp + ((r * W2 + j) * 4) * rowBytes;
        for (int64_t k = 0; k < 4; ++k) {
          // src <- x[b, 2i + dh, 2j + dw]
          char* src = xp + (((b * H + 2 * i + (k & 1)) * W) + 2 * j + (k >> 1)) * rowBytes;
          if (toMerged) {
            std::memcpy(out + k * rowBytes, src, rowBytes);
          } else {
            std::memcpy(src, out + k * rowBytes, rowBytes);
          }
        }
      }
    }
  });
}

}  // namespace cpu
}  // namespace swin
}  // namespace tn
