// recurrent/io/atomic_file.h — replace a file atomically: readers see the old file or the new one,
// never a partial write, even if the process dies or the disk fills up mid-write.
//
// Protocol: create a unique temp file in the target's directory ("<name>.tmp.XXXXXX", so the
// rename stays on one filesystem), write, fflush + fsync, rename over the target, fsync the
// directory (so the rename itself survives a crash). Any failure throws recurrent::Error naming
// the target and the system error; the temp file is removed and an existing target is untouched.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace recurrent::io {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // creates the temp file; throws Error if it cannot
  ~AtomicFile();                          // not committed: closes and removes the temp file
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);  // throws Error on a short write (e.g. disk full)
  void write(std::string_view s) { write(s.data(), s.size()); }
  void commit();                           // fsync, rename over the target, fsync the directory
  const std::string& temp_path() const { return tmp_; }

 private:
  std::string path_;
  std::string tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

// Convenience: the whole content at once.
void write_file_atomic(const std::string& path, std::string_view content);

}  // namespace recurrent::io
