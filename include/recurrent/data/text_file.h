// recurrent/data/text_file.h — reading corpus files, with errors that name the file.
#pragma once

#include <string>
#include <vector>

namespace recurrent::data {

// Whole file as bytes. Throws Error(path, "cannot open ...") if it cannot be read.
std::string read_file(const std::string& path);

// Whole file decoded as strict UTF-8 (errors name the file and the byte offset).
std::u32string read_utf8_file(const std::string& path);

// Lines of a UTF-8 text file without their '\n' (a trailing "\r" is dropped too). The content is
// validated as UTF-8 (errors name the file and byte offset). A final line without '\n' counts.
std::vector<std::string> read_lines(const std::string& path);

// Write bytes to path (truncating). Throws Error(path, ...) on failure.
void write_file(const std::string& path, const std::string& bytes);

}  // namespace recurrent::data
