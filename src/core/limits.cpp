#include "recurrent/core/limits.h"

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "recurrent/core/error.h"

namespace recurrent {

namespace {
std::atomic<uint64_t> g_max{kMaxInputBytes};

// 3.00 GiB, 1.00 MiB, 12.0 KiB, 7 bytes
std::string human(uint64_t bytes) {
  char buf[32];
  const double b = static_cast<double>(bytes);
  if (bytes >= (uint64_t{1} << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1 << 30));
  else if (bytes >= (uint64_t{1} << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", b / (1 << 20));
  else if (bytes >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024);
  else std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  return buf;
}
}  // namespace

uint64_t max_input_bytes() { return g_max.load(std::memory_order_relaxed); }
void set_max_input_bytes(uint64_t bytes) {
  RC_CHECK(bytes >= 1, "max_input_bytes", "expected at least 1 byte, got ", bytes);
  g_max.store(bytes, std::memory_order_relaxed);
}

void check_input_file_size(const std::string& path) {
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return;  // missing, a folder, …: the reader says what is wrong
  check_input_bytes(path, size, "file");
}

void check_input_bytes(const std::string& path, uint64_t bytes, const char* what) {
  RC_CHECK(bytes <= max_input_bytes(), path, what, " of ", human(bytes), " is over the ", human(max_input_bytes()),
           " limit of input read whole into memory");
}

}  // namespace recurrent
