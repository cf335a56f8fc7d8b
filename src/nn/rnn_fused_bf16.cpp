// The bf16 halves of the fused loops' panels (rnn_fused.h): AVX512_BF16 products on 32-column panels
// (kernels/avx512/panel_bf16.h) or, with Panels::amx, AMX tiles on the same panels (kernels/amx/panel_amx.h),
// x86-64 only; elsewhere the fp32 panels are the only ones, and a bf16
// shape never reaches here (RNNOptions::validate and check_precision refuse it first).
#include <algorithm>

#include "nn/rnn_fused.h"
#include "recurrent/core/error.h"
#include "recurrent/kernels/cpu.h"

#if defined(__x86_64__)
#include "kernels/amx/panel_amx.h"
#include "kernels/avx512/panel_bf16.h"
#endif

namespace recurrent::rnn::fused {

#if defined(__x86_64__)
int64_t panel_bf16_elems(int64_t K) { return avx512::panel_bf16_elems(K); }

// An fp32 panel first (the target's packer: P = 32 on the AVX-512 targets), then pairs.
void pack_forward_panels_bf16(const simd::RnnKernels& k, const float* w, int64_t G, int64_t N, int64_t K,
                              int64_t jb0, int64_t jb1, uint16_t* out) {
  if (jb0 >= jb1) return;
  constexpr int64_t P = 32;
  RC_CHECK(k.panel == P, "bf16", "bf16 panels need the avx512 target");
  Tensor tmp = Tensor::uninitialized({K, P});
  for (int64_t jb = jb0; jb < jb1; ++jb)
    for (int64_t g = 0; g < G; ++g) {
      k.pack_rows_transposed(w + (g * N + jb * P) * K, K, std::min(P, N - jb * P), K, tmp.data());
      avx512::pack_pairs_bf16(K, P, tmp.data(), P, out + (jb * G + g) * avx512::panel_bf16_elems(K));
    }
}

void pack_backward_panels_bf16(const float* w, int64_t K, int64_t N, int64_t jb0, int64_t jb1, uint16_t* out) {
  constexpr int64_t P = 32;
  for (int64_t jb = jb0; jb < jb1; ++jb)
    avx512::pack_pairs_bf16(K, std::min(P, N - jb * P), w + jb * P, N, out + jb * avx512::panel_bf16_elems(K));
}

void Panels::gemm(int64_t i, int64_t k0, int64_t kk, int64_t M, const float* A, int64_t lda, const uint16_t* ab,
                  int64_t ncols, float* C, int64_t ldc, bool acc) const {
  if (b) {
    const int64_t kp = avx512::bf16_pad(kk);
    const uint16_t* panel = b + i * avx512::panel_bf16_elems(K) + k0 * 32;
    if (amx) return amx::panel_gemm_amx(M, kp, ab, kp, panel, ncols, C, ldc, acc);
    avx512::panel_gemm_bf16(M, kp, ab, kp, panel, ncols, C, ldc, acc);
  } else {
    k->panel_gemm(M, kk, A, lda, f + (i * K + k0) * k->panel, ncols, C, ldc, acc);
  }
}

void Panels::gemm_n(int64_t i, int64_t n, int64_t kk, int64_t M, const uint16_t* ab, int64_t ncols, float* C,
                    int64_t cstride, int64_t ldc, bool acc) const {
  RC_CHECK(b, "Panels::gemm_n", "bf16 panels only");
  const int64_t kp = avx512::bf16_pad(kk), elems = avx512::panel_bf16_elems(K);
  if (amx) return amx::panel_gemm_amx_n(n, M, kp, ab, kp, b + i * elems, elems, ncols, C, cstride, ldc, acc);
  for (int64_t p = 0; p < n; ++p)
    avx512::panel_gemm_bf16(M, kp, ab, kp, b + (i + p) * elems, ncols, C + p * cstride, ldc, acc);
}

// Only where AMX can have run: amx::release_tiles lives in a file compiled for AMX and AVX-512, never
// entered on a CPU without them.
TileRelease::~TileRelease() {
  if (cpu_has_amx_bf16()) amx::release_tiles();
}

Operand::Operand(bool bf16, int64_t rows, int64_t maxK) : buf(bf16 ? rows * avx512::bf16_pad(maxK) : 0) {}

const uint16_t* Operand::set(int64_t M, int64_t K, const float* src, int64_t lds) {
  if (!buf.p) return nullptr;
  avx512::convert_rows_bf16(M, K, src, lds, buf.p, avx512::bf16_pad(K));
  return buf.p;
}

#else  // no bf16 panels on this architecture

int64_t panel_bf16_elems(int64_t) { throw Error("bf16", "bf16 needs an x86-64 CPU with AVX512_BF16"); }
void pack_forward_panels_bf16(const simd::RnnKernels&, const float*, int64_t, int64_t, int64_t, int64_t, int64_t,
                              uint16_t*) {
  throw Error("bf16", "bf16 needs an x86-64 CPU with AVX512_BF16");
}
void pack_backward_panels_bf16(const float*, int64_t, int64_t, int64_t, int64_t, uint16_t*) {
  throw Error("bf16", "bf16 needs an x86-64 CPU with AVX512_BF16");
}
void Panels::gemm(int64_t i, int64_t k0, int64_t kk, int64_t M, const float* A, int64_t lda, const uint16_t*,
                  int64_t ncols, float* C, int64_t ldc, bool acc) const {
  k->panel_gemm(M, kk, A, lda, f + (i * K + k0) * k->panel, ncols, C, ldc, acc);
}
void Panels::gemm_n(int64_t, int64_t, int64_t, int64_t, const uint16_t*, int64_t, float*, int64_t, int64_t,
                    bool) const {
  throw Error("bf16", "bf16 needs an x86-64 CPU with AVX512_BF16");
}

TileRelease::~TileRelease() {}

Operand::Operand(bool bf16, int64_t, int64_t) : buf(0) {
  RC_CHECK(!bf16, "bf16", "bf16 needs an x86-64 CPU with AVX512_BF16");
}
const uint16_t* Operand::set(int64_t, int64_t, const float*, int64_t) { return nullptr; }
#endif

}  // namespace recurrent::rnn::fused
