#include "recurrent/kernels/cpu.h"

#include <cstdlib>
#include <cstring>

#include "recurrent/core/error.h"

namespace recurrent {

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

bool cpu_has_avx512_bf16() {
  // GCC 12's __builtin_cpu_supports has no "avx512bf16": read CPUID leaf 7 sub-leaf 1, EAX bit 5.
  unsigned a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(1));
  return cpu_has_avx512() && (a & (1u << 5));
}

Isa best_isa() {
  const char* env = std::getenv("RECURRENT_ISA");
  if (env && *env) {
    if (std::strcmp(env, "generic") == 0) return Isa::generic;
    RC_CHECK(std::strcmp(env, "avx512") == 0, "RECURRENT_ISA", "expected 'generic' or 'avx512', got '", env, "'");
  }
  return cpu_has_avx512() ? Isa::avx512 : Isa::generic;
}

namespace {
Isa& current() {
  static Isa isa = best_isa();
  return isa;
}
}  // namespace

Isa active_isa() { return current(); }

void set_isa(Isa isa) {
  RC_CHECK(isa == Isa::generic || cpu_has_avx512(), "set_isa", "this CPU has no AVX-512");
  current() = isa;
}

const char* isa_name(Isa isa) { return isa == Isa::avx512 ? "avx512" : "generic"; }

}  // namespace recurrent
