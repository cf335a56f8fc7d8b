#include "recurrent/data/text_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "recurrent/core/error.h"
#include "recurrent/core/limits.h"
#include "recurrent/data/utf8.h"

namespace recurrent::data {

std::string read_file(const std::string& path) {
  // ifstream "opens" a directory on Linux and then reads nothing: without this check a directory
  // given by mistake would read as an empty corpus.
  std::error_code ec;
  RC_CHECK(!std::filesystem::is_directory(path, ec), path, "is a directory, expected a file");
  check_input_file_size(path);
  std::ifstream in(path, std::ios::binary);
  RC_CHECK(in.good(), path, "cannot open for reading: ", std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  RC_CHECK(!in.bad(), path, "read error");
  return ss.str();
}

std::u32string read_utf8_file(const std::string& path) { return utf8_decode(read_file(path), path); }

std::vector<std::string> read_lines(const std::string& path) {
  const std::string bytes = read_file(path);
  utf8_decode(bytes, path);  // validate once, so every line is well-formed UTF-8
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < bytes.size()) {
    size_t end = bytes.find('\n', start);
    if (end == std::string::npos) end = bytes.size();
    size_t stop = end;
    if (stop > start && bytes[stop - 1] == '\r') --stop;
    lines.emplace_back(bytes, start, stop - start);
    start = end + 1;
  }
  return lines;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  RC_CHECK(out.good(), path, "cannot open for writing: ", std::strerror(errno));
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.flush();
  RC_CHECK(out.good(), path, "write error");
}

}  // namespace recurrent::data
