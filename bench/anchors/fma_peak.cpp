// Peak-compute microbenchmark: fp32 FMA at each vector width (AVX-512 zmm, AVX2 ymm, FMA on xmm),
// SSE mul+add on xmm (the fp32 peak of SSE4.1 code, which has no FMA), AVX512_BF16 dot-product,
// and (if the kernel grants it) AMX bf16 tile multiply.
// Build: the project's CMake target anchor_fma_peak (bench/anchors/CMakeLists.txt); each kernel
// carries its own target attribute, so the file builds with the project's x86-64-v2 baseline.
// Run: ./fma_peak [reps] [WHICH[,WHICH...]]
//   WHICH: all (default: every kernel this CPU has) | zmm | ymm | xmm | sse | bf16 | amx
//          or a target name: avx512 (= zmm) | avx2 (= ymm) | sse4 (= sse) | native (the widest fp32
//          kernel this CPU has: zmm, else ymm, else sse). A kernel the CPU lacks is an error.
// Each kernel runs a fixed number of instructions on NACC independent accumulators
// (enough to cover FMA latency 4 cycles x 2 ports), timed with steady_clock.
// Threads: 1 and 2 (std::thread, each pinned to its own core).
#include <immintrin.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>
#include <vector>

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

static const long ITERS = 50'000'000;  // inner-loop iterations per run

// 16 independent zmm FMA chains per iteration: 16 instr x 16 lanes x 2 flops
// Inline asm so the compiler cannot merge the independent accumulator chains.
__attribute__((noinline, target("avx512f"))) float k_fma512(long iters) {
  asm volatile(
      "vpxord %%zmm0, %%zmm0, %%zmm0\n"
      "vpxord %%zmm1, %%zmm1, %%zmm1\n"
      "vpxord %%zmm2, %%zmm2, %%zmm2\n"
      "vpxord %%zmm3, %%zmm3, %%zmm3\n"
      "vpxord %%zmm4, %%zmm4, %%zmm4\n"
      "vpxord %%zmm5, %%zmm5, %%zmm5\n"
      "vpxord %%zmm6, %%zmm6, %%zmm6\n"
      "vpxord %%zmm7, %%zmm7, %%zmm7\n"
      "vpxord %%zmm8, %%zmm8, %%zmm8\n"
      "vpxord %%zmm9, %%zmm9, %%zmm9\n"
      "vpxord %%zmm10, %%zmm10, %%zmm10\n"
      "vpxord %%zmm11, %%zmm11, %%zmm11\n"
      "vpxord %%zmm12, %%zmm12, %%zmm12\n"
      "vpxord %%zmm13, %%zmm13, %%zmm13\n"
      "vpxord %%zmm14, %%zmm14, %%zmm14\n"
      "vpxord %%zmm15, %%zmm15, %%zmm15\n"
      "vpxord %%zmm30, %%zmm30, %%zmm30\n"
      "vpxord %%zmm31, %%zmm31, %%zmm31\n"
      "1:\n"
      "vfmadd231ps %%zmm30, %%zmm31, %%zmm0\n"
      "vfmadd231ps %%zmm30, %%zmm31, %%zmm1\n"
      "vfmadd231ps %%zmm30, %%zmm31, %%zmm2\n"
      "vfmadd231ps %%zmm30, %%zmm31, %%zmm3\n"
      "vfmadd231ps %%zmm30, %%zmm31, %%zmm4\n"
      "vfmadd231ps %%zmm30, %%zmm31, %%zmm5\n"
      "vfmadd231ps %%zmm30, %%zmm31, %%zmm6\n"
      "vfmadd231ps %%zmm30, %%zmm31, %%zmm7\n"
      "vfmadd231ps %%zmm30, %%zmm31, %%zmm8\n"
      "vfmadd231ps %%zmm30, %%zmm31, %%zmm9\n"
      "vfmadd231ps %%zmm30, %%zmm31, %%zmm10\n"
      "vfmadd231ps %%zmm30, %%zmm31, %%zmm11\n"
      "vfmadd231ps %%zmm30, %%zmm31, %%zmm12\n"
      "vfmadd231ps %%zmm30, %%zmm31, %%zmm13\n"
      "vfmadd231ps %%zmm30, %%zmm31, %%zmm14\n"
      "vfmadd231ps %%zmm30, %%zmm31, %%zmm15\n"
      "dec %0\n"
      "jnz 1b\n"
      : "+r"(iters)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm30", "xmm31", "cc");
  return 0.f;
}
static const double F_FMA512 = 16.0 * 16 * 2;

// 16 independent ymm FMA chains (AVX2 width, for comparison): 16 x 8 lanes x 2 flops
// Inline asm so the compiler cannot merge the independent accumulator chains.
// Plain AVX2+FMA (VEX, ymm0-15 only): 14 independent chains, sources in ymm14/ymm15.
__attribute__((noinline, target("avx2,fma"))) float k_fma256(long iters) {
  asm volatile(
      "vxorps %%ymm0, %%ymm0, %%ymm0\n"
      "vxorps %%ymm1, %%ymm1, %%ymm1\n"
      "vxorps %%ymm2, %%ymm2, %%ymm2\n"
      "vxorps %%ymm3, %%ymm3, %%ymm3\n"
      "vxorps %%ymm4, %%ymm4, %%ymm4\n"
      "vxorps %%ymm5, %%ymm5, %%ymm5\n"
      "vxorps %%ymm6, %%ymm6, %%ymm6\n"
      "vxorps %%ymm7, %%ymm7, %%ymm7\n"
      "vxorps %%ymm8, %%ymm8, %%ymm8\n"
      "vxorps %%ymm9, %%ymm9, %%ymm9\n"
      "vxorps %%ymm10, %%ymm10, %%ymm10\n"
      "vxorps %%ymm11, %%ymm11, %%ymm11\n"
      "vxorps %%ymm12, %%ymm12, %%ymm12\n"
      "vxorps %%ymm13, %%ymm13, %%ymm13\n"
      "vxorps %%ymm14, %%ymm14, %%ymm14\n"
      "vxorps %%ymm15, %%ymm15, %%ymm15\n"
      "1:\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm0\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm1\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm2\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm3\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm4\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm5\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm6\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm7\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm8\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm9\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm10\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm11\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm12\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm13\n"
      "dec %0\n"
      "jnz 1b\n"
      : "+r"(iters)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc");
  return 0.f;
}
static const double F_FMA256 = 14.0 * 8 * 2;

// The same 14 VEX FMA chains on xmm (128-bit FMA, needs the FMA extension): 14 x 4 lanes x 2 flops
__attribute__((noinline, target("avx2,fma"))) float k_fma128(long iters) {
  asm volatile(
      "vxorps %%xmm0, %%xmm0, %%xmm0\n"
      "vxorps %%xmm1, %%xmm1, %%xmm1\n"
      "vxorps %%xmm2, %%xmm2, %%xmm2\n"
      "vxorps %%xmm3, %%xmm3, %%xmm3\n"
      "vxorps %%xmm4, %%xmm4, %%xmm4\n"
      "vxorps %%xmm5, %%xmm5, %%xmm5\n"
      "vxorps %%xmm6, %%xmm6, %%xmm6\n"
      "vxorps %%xmm7, %%xmm7, %%xmm7\n"
      "vxorps %%xmm8, %%xmm8, %%xmm8\n"
      "vxorps %%xmm9, %%xmm9, %%xmm9\n"
      "vxorps %%xmm10, %%xmm10, %%xmm10\n"
      "vxorps %%xmm11, %%xmm11, %%xmm11\n"
      "vxorps %%xmm12, %%xmm12, %%xmm12\n"
      "vxorps %%xmm13, %%xmm13, %%xmm13\n"
      "vxorps %%xmm14, %%xmm14, %%xmm14\n"
      "vxorps %%xmm15, %%xmm15, %%xmm15\n"
      "1:\n"
      "vfmadd231ps %%xmm14, %%xmm15, %%xmm0\n"
      "vfmadd231ps %%xmm14, %%xmm15, %%xmm1\n"
      "vfmadd231ps %%xmm14, %%xmm15, %%xmm2\n"
      "vfmadd231ps %%xmm14, %%xmm15, %%xmm3\n"
      "vfmadd231ps %%xmm14, %%xmm15, %%xmm4\n"
      "vfmadd231ps %%xmm14, %%xmm15, %%xmm5\n"
      "vfmadd231ps %%xmm14, %%xmm15, %%xmm6\n"
      "vfmadd231ps %%xmm14, %%xmm15, %%xmm7\n"
      "vfmadd231ps %%xmm14, %%xmm15, %%xmm8\n"
      "vfmadd231ps %%xmm14, %%xmm15, %%xmm9\n"
      "vfmadd231ps %%xmm14, %%xmm15, %%xmm10\n"
      "vfmadd231ps %%xmm14, %%xmm15, %%xmm11\n"
      "vfmadd231ps %%xmm14, %%xmm15, %%xmm12\n"
      "vfmadd231ps %%xmm14, %%xmm15, %%xmm13\n"
      "dec %0\n"
      "jnz 1b\n"
      : "+r"(iters)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc");
  return 0.f;
}
static const double F_FMA128 = 14.0 * 4 * 2;

// SSE (legacy encoding, no FMA: what SSE4.1 code can issue): 7 independent mulps chains and 7
// independent addps chains, interleaved, so both FP ports get a multiply or an add every cycle;
// 14 instr x 4 lanes x 1 flop. Operands are zeros (no denormals). This is the fp32 peak of an
// SSE4.1 (x86-64-v2) target: half the xmm FMA peak at the same port count.
__attribute__((noinline, target("sse4.1"))) float k_sse(long iters) {
  asm volatile(
      "xorps %%xmm0, %%xmm0\n"
      "xorps %%xmm1, %%xmm1\n"
      "xorps %%xmm2, %%xmm2\n"
      "xorps %%xmm3, %%xmm3\n"
      "xorps %%xmm4, %%xmm4\n"
      "xorps %%xmm5, %%xmm5\n"
      "xorps %%xmm6, %%xmm6\n"
      "xorps %%xmm7, %%xmm7\n"
      "xorps %%xmm8, %%xmm8\n"
      "xorps %%xmm9, %%xmm9\n"
      "xorps %%xmm10, %%xmm10\n"
      "xorps %%xmm11, %%xmm11\n"
      "xorps %%xmm12, %%xmm12\n"
      "xorps %%xmm13, %%xmm13\n"
      "xorps %%xmm14, %%xmm14\n"
      "1:\n"
      "mulps %%xmm14, %%xmm0\n"
      "addps %%xmm14, %%xmm1\n"
      "mulps %%xmm14, %%xmm2\n"
      "addps %%xmm14, %%xmm3\n"
      "mulps %%xmm14, %%xmm4\n"
      "addps %%xmm14, %%xmm5\n"
      "mulps %%xmm14, %%xmm6\n"
      "addps %%xmm14, %%xmm7\n"
      "mulps %%xmm14, %%xmm8\n"
      "addps %%xmm14, %%xmm9\n"
      "mulps %%xmm14, %%xmm10\n"
      "addps %%xmm14, %%xmm11\n"
      "mulps %%xmm14, %%xmm12\n"
      "addps %%xmm14, %%xmm13\n"
      "dec %0\n"
      "jnz 1b\n"
      : "+r"(iters)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "cc");
  return 0.f;
}
static const double F_SSE = 14.0 * 4;

// AVX512_BF16 vdpbf16ps: 28 independent chains x (16 lanes x 2 bf16 products x 2 flops)
// Inline asm so the compiler cannot merge the independent accumulator chains.
__attribute__((noinline, target("avx512f,avx512bf16"))) float k_dpbf16(long iters) {
  asm volatile(
      "vpxord %%zmm0, %%zmm0, %%zmm0\n"
      "vpxord %%zmm1, %%zmm1, %%zmm1\n"
      "vpxord %%zmm2, %%zmm2, %%zmm2\n"
      "vpxord %%zmm3, %%zmm3, %%zmm3\n"
      "vpxord %%zmm4, %%zmm4, %%zmm4\n"
      "vpxord %%zmm5, %%zmm5, %%zmm5\n"
      "vpxord %%zmm6, %%zmm6, %%zmm6\n"
      "vpxord %%zmm7, %%zmm7, %%zmm7\n"
      "vpxord %%zmm8, %%zmm8, %%zmm8\n"
      "vpxord %%zmm9, %%zmm9, %%zmm9\n"
      "vpxord %%zmm10, %%zmm10, %%zmm10\n"
      "vpxord %%zmm11, %%zmm11, %%zmm11\n"
      "vpxord %%zmm12, %%zmm12, %%zmm12\n"
      "vpxord %%zmm13, %%zmm13, %%zmm13\n"
      "vpxord %%zmm14, %%zmm14, %%zmm14\n"
      "vpxord %%zmm15, %%zmm15, %%zmm15\n"
      "vpxord %%zmm16, %%zmm16, %%zmm16\n"
      "vpxord %%zmm17, %%zmm17, %%zmm17\n"
      "vpxord %%zmm18, %%zmm18, %%zmm18\n"
      "vpxord %%zmm19, %%zmm19, %%zmm19\n"
      "vpxord %%zmm20, %%zmm20, %%zmm20\n"
      "vpxord %%zmm21, %%zmm21, %%zmm21\n"
      "vpxord %%zmm22, %%zmm22, %%zmm22\n"
      "vpxord %%zmm23, %%zmm23, %%zmm23\n"
      "vpxord %%zmm24, %%zmm24, %%zmm24\n"
      "vpxord %%zmm25, %%zmm25, %%zmm25\n"
      "vpxord %%zmm26, %%zmm26, %%zmm26\n"
      "vpxord %%zmm27, %%zmm27, %%zmm27\n"
      "vpxord %%zmm30, %%zmm30, %%zmm30\n"
      "vpxord %%zmm31, %%zmm31, %%zmm31\n"
      "1:\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm0\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm1\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm2\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm3\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm4\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm5\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm6\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm7\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm8\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm9\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm10\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm11\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm12\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm13\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm14\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm15\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm16\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm17\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm18\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm19\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm20\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm21\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm22\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm23\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm24\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm25\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm26\n"
      "vdpbf16ps %%zmm30, %%zmm31, %%zmm27\n"
      "dec %0\n"
      "jnz 1b\n"
      : "+r"(iters)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm30", "xmm31", "cc");
  return 0.f;
}
static const double F_DPBF16 = 28.0 * 64;

// ---------------- AMX ----------------
#define ARCH_GET_XCOMP_PERM 0x1022
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18
struct TileCfg {
  uint8_t palette_id, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};
static bool amx_request() {
  return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}
__attribute__((noinline, target("amx-tile,amx-bf16"))) float k_amx(long iters) {
  alignas(64) TileCfg cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.palette_id = 1;
  for (int t = 0; t < 8; t++) { cfg.rows[t] = 16; cfg.colsb[t] = 64; }
  _tile_loadconfig(&cfg);
  alignas(64) static thread_local uint16_t buf[16 * 32];
  alignas(64) static thread_local float out[16 * 16];
  for (int i = 0; i < 16 * 32; i++) buf[i] = 0x3c00;
  memset(out, 0, sizeof out);
  _tile_loadd(0, out, 64); _tile_loadd(1, out, 64); _tile_loadd(2, out, 64); _tile_loadd(3, out, 64);
  _tile_loadd(4, buf, 64); _tile_loadd(5, buf, 64); _tile_loadd(6, buf, 64); _tile_loadd(7, buf, 64);
  for (long i = 0; i < iters; i++) {  // 4 independent accumulators (2x2 register blocking)
    _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6); _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, out, 64);
  _tile_release();
  return out[0];
}
static const double F_AMX = 4.0 * 16 * 16 * 32 * 2;  // 4 TDPBF16PS of 16x16x32

static void pin(int cpu) {
  cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu, &s);
  pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

// Runs kernel on nthr threads, returns GFLOP/s (aggregate).
static double run(std::function<float(long)> k, double flops_per_iter, long iters, int nthr, bool amx) {
  std::vector<std::thread> th;
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<double> t0(nthr), t1(nthr);
  volatile float sink = 0;
  for (int t = 0; t < nthr; t++)
    th.emplace_back([&, t] {
      pin(t);
      if (amx) amx_request();
      k(iters / 100);  // warm up / license transition
      ready++;
      while (!go) {}
      t0[t] = now();
      float r = k(iters);
      t1[t] = now();
      sink = sink + r;
    });
  while (ready < nthr) {}
  go = true;
  for (auto& x : th) x.join();
  double start = *std::min_element(t0.begin(), t0.end());
  double end = *std::max_element(t1.begin(), t1.end());
  return flops_per_iter * iters * nthr / (end - start) / 1e9;
}

static void usage(const char* argv0) {
  fprintf(stderr,
          "usage: %s [reps] [WHICH[,WHICH...]]\n"
          "  WHICH: all | zmm | ymm | xmm | sse | bf16 | amx | avx512 (=zmm) | avx2 (=ymm) | sse4 (=sse) | native\n",
          argv0);
}

int main(int argc, char** argv) {
  int reps = 7;
  std::string which = "all";
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") { usage(argv[0]); return 0; }
    if (!a.empty() && strspn(a.c_str(), "0123456789") == a.size()) reps = std::max(1, atoi(a.c_str()));
    else which = a;
  }
  const bool has512 = __builtin_cpu_supports("avx512f");
  const bool has_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool has_sse = __builtin_cpu_supports("sse4.1");
  const bool has_bf16 = __builtin_cpu_supports("avx512bf16");
  std::vector<std::string> want;  // kernel keys, in the order given
  for (size_t p = 0; p <= which.size();) {
    size_t q = which.find(',', p);
    if (q == std::string::npos) q = which.size();
    std::string w = which.substr(p, q - p);
    p = q + 1;
    if (w == "avx512") w = "zmm";
    else if (w == "avx2") w = "ymm";
    else if (w == "sse4") w = "sse";
    else if (w == "native") w = has512 ? "zmm" : has_fma ? "ymm" : "sse";
    if (w == "all") { for (const char* k : {"ymm", "zmm", "xmm", "sse", "bf16", "amx"}) want.push_back(k); continue; }
    if (w != "zmm" && w != "ymm" && w != "xmm" && w != "sse" && w != "bf16" && w != "amx") {
      fprintf(stderr, "fma_peak: unknown kernel '%s'\n", w.c_str());
      usage(argv[0]);
      return 2;
    }
    want.push_back(w);
  }
  const bool all = which == "all";
  bool amx_ok = false;
  if (std::find(want.begin(), want.end(), "amx") != want.end()) {
    amx_ok = amx_request();
    printf("AMX permission (arch_prctl ARCH_REQ_XCOMP_PERM): %s\n", amx_ok ? "granted" : "DENIED");
  }
  struct K { std::string key; const char* name; std::function<float(long)> f; double fl; long it; bool amx; bool ok; };
  const std::vector<K> known = {
      {"ymm", "fp32 FMA ymm (AVX2)", k_fma256, F_FMA256, ITERS, false, has_fma},
      {"zmm", "fp32 FMA zmm (AVX-512)", k_fma512, F_FMA512, ITERS, false, has512},
      {"xmm", "fp32 FMA xmm (AVX2)", k_fma128, F_FMA128, ITERS, false, has_fma},
      {"sse", "fp32 mul+add xmm (SSE4)", k_sse, F_SSE, ITERS, false, has_sse},
      {"bf16", "bf16 vdpbf16ps zmm", k_dpbf16, F_DPBF16, ITERS / 2, false, has_bf16},
      {"amx", "bf16 AMX tdpbf16ps", k_amx, F_AMX, ITERS / 5, true, amx_ok},
  };
  std::vector<K> ks;
  for (auto& w : want)
    for (auto& k : known)
      if (k.key == w) {
        if (k.ok) ks.push_back(k);
        else if (!all) { fprintf(stderr, "fma_peak: this CPU cannot run the %s kernel (%s)\n", w.c_str(), k.name); return 3; }
      }
  printf("%-26s %7s %10s %10s   (GFLOP/s over %d reps)\n", "kernel", "threads", "min", "median", reps);
  for (auto& k : ks)
    for (int nthr = 1; nthr <= 2; nthr++) {
      std::vector<double> g;
      for (int r = 0; r < reps; r++) g.push_back(run(k.f, k.fl, k.it, nthr, k.amx));
      std::sort(g.begin(), g.end());
      // "min" here = worst rep (min GFLOP/s), median = middle, also print best
      printf("%-26s %7d %10.1f %10.1f   best %.1f\n", k.name, nthr, g.front(), g[g.size() / 2], g.back());
      fflush(stdout);
    }
  return 0;
}
