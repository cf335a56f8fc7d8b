// Which SIMD targets exist and which one runs. Contract: recurrent/kernels/target.h.
#include <hwy/targets.h>

#include <algorithm>
#include <atomic>
#include <cctype>

#include "recurrent/core/error.h"
#include "recurrent/kernels/target.h"

namespace recurrent::simd {

int64_t compiled_target_mask();  // rnn_kernels.cpp (HWY_TARGETS of the kernels' build)

namespace {
std::atomic<int64_t> g_default{0};

std::vector<int64_t> bits_of(int64_t mask) {  // lowest bit first = best target first
  std::vector<int64_t> out;
  for (int b = 0; b < 63; ++b)
    if (mask & (int64_t{1} << b)) out.push_back(int64_t{1} << b);
  return out;
}

// hwy::SupportedTargets() re-runs CPUID on every call (Highway 1.0.3 does not cache it); under a
// hypervisor each CPUID is a VM exit. The CPU does not change: ask once.
int64_t supported_targets() {
  static const int64_t mask = hwy::SupportedTargets();
  return mask;
}

std::string joined_names(const std::vector<int64_t>& ts) {
  std::string s;
  for (int64_t t : ts) s += (s.empty() ? "" : ", ") + target_name(t);
  return s;
}
}  // namespace

std::vector<int64_t> compiled_targets() { return bits_of(compiled_target_mask()); }
std::vector<int64_t> cpu_targets() { return bits_of(compiled_target_mask() & supported_targets()); }
int64_t best_target() {
  const int64_t mask = compiled_target_mask() & supported_targets();
  return mask & -mask;  // the lowest bit: the best target
}
bool avx512_target(int64_t target) { return target == HWY_AVX3 || target == HWY_AVX3_DL; }
bool fma_target(int64_t target) {
  return target != 0 && (target & (HWY_SSE4 | HWY_SSSE3 | HWY_EMU128 | HWY_SCALAR)) == 0;  // x86 AVX2+, NEON, SVE
}
bool cpu_runs(int64_t target) {
  return target != 0 && (target & (target - 1)) == 0 && (target & compiled_target_mask() & supported_targets());
}

std::string target_name(int64_t target) {
  if (target == HWY_AVX3) return "avx512";
  if (target == HWY_AVX3_DL) return "avx512_dl";
  std::string s = hwy::TargetName(target);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

int64_t parse_target(const std::string& name, const char* what) {
  if (name == "native" || name == "best") return best_target();
  for (int64_t t : compiled_targets()) {
    if (target_name(t) != name) continue;
    RC_CHECK(cpu_runs(t), what, "this CPU cannot run '", name, "'; it runs: ", joined_names(cpu_targets()));
    return t;
  }
  throw Error(what, "unknown SIMD target '" + name + "'; this build has: " + joined_names(compiled_targets()) +
                        " (this CPU runs: " + joined_names(cpu_targets()) + ")");
}

int64_t default_target() {
  const int64_t t = g_default.load(std::memory_order_relaxed);
  return t != 0 ? t : best_target();
}

void set_default_target(int64_t target) {
  RC_CHECK(target == 0 || cpu_runs(target), "target", "this CPU cannot run '", target_name(target), "'");
  g_default.store(target, std::memory_order_relaxed);
}

int64_t resolve_target(int64_t t) {
  if (t == 0) return default_target();
  RC_CHECK(cpu_runs(t), "target", "this CPU cannot run '", target_name(t), "'");
  return t;
}

}  // namespace recurrent::simd
