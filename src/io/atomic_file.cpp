// Atomic file replacement (temp file + fsync + rename + directory fsync). See io/atomic_file.h.
#include "recurrent/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "recurrent/core/error.h"

namespace recurrent::io {

namespace {
std::string sys_error(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

std::string parent_dir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}
// The process umask without the racy umask(0)/umask(old) dance: Linux reports it in /proc.
mode_t current_umask() {
  mode_t mask = 022;
  if (FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    unsigned m = 0;
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "Umask: %o", &m) == 1) {
        mask = static_cast<mode_t>(m);
        break;
      }
    std::fclose(f);
  }
  return mask;
}
}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  RC_CHECK(!path_.empty() && path_.back() != '/', path_, "expected a file name to write");
  struct stat st{};
  bool exists = ::stat(path_.c_str(), &st) == 0;
  if (exists)
    RC_CHECK(S_ISREG(st.st_mode), path_, "exists and is not a regular file; will not replace it");
  std::vector<char> templ(path_.begin(), path_.end());
  const char suffix[] = ".tmp.XXXXXX";
  templ.insert(templ.end(), suffix, suffix + sizeof(suffix));  // includes the terminating NUL
  fd_ = ::mkostemp(templ.data(), O_CLOEXEC);
  if (fd_ < 0) throw Error(path_, sys_error("cannot create a temporary file next to it"));
  tmp_ = templ.data();
  // mkstemp creates mode 0600. Keep an existing target's mode; else 0666 & ~umask, as fopen would.
  ::fchmod(fd_, exists ? (st.st_mode & 07777) : (0666 & ~current_umask()));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !tmp_.empty()) ::unlink(tmp_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
  RC_CHECK(fd_ >= 0 && !committed_, path_, "write after commit");
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw Error(path_, sys_error("write failed"));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void AtomicFile::commit() {
  RC_CHECK(fd_ >= 0 && !committed_, path_, "commit called twice");
  if (::fsync(fd_) != 0) throw Error(path_, sys_error("fsync failed"));
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) throw Error(path_, sys_error("close failed"));
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) throw Error(path_, sys_error("cannot rename the temp file over it"));
  committed_ = true;
  // Make the rename durable. Failure here leaves a complete new file in place, so it is not fatal
  // for correctness of what readers see; we still report it, since durability was asked for.
  int dfd = ::open(parent_dir(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) throw Error(path_, sys_error("cannot open its directory to fsync"));
  rc = ::fsync(dfd);
  int err = errno;
  ::close(dfd);
  errno = err;
  if (rc != 0 && errno != EINVAL) throw Error(path_, sys_error("fsync of its directory failed"));
}

void write_file_atomic(const std::string& path, std::string_view content) {
  AtomicFile f(path);
  f.write(content);
  f.commit();
}

}  // namespace recurrent::io
