// recurrent inspect FILE [--json] — list a safetensors file's tensors (name, dtype, shape, bytes)
// and its metadata. Works on any safetensors file (PyTorch's / huggingface's included): only the
// header is read, and it is validated against the file size with the same rules as every other
// read (include/recurrent/io/safetensors.h), so a damaged file gives the reader's one-line error
// naming the file, and a non-zero exit (main.cpp).
//
// Text output (tensors in name order; names and metadata with control characters escaped so each
// entry stays on one line):
//   model.safetensors: 3 tensors, 1,234 elements, 4,936 data bytes, header 216 bytes
//   name            dtype  shape    bytes
//   bias_ih_l0      F32    [32]       128
//   ...
//   metadata (2):
//     format: recurrent-1
// --json prints one JSON object {"file", "header_bytes", "data_bytes", "tensors": [{"name",
// "dtype", "shape", "data_offsets", "bytes"}], "metadata": {...}} for scripts.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "recurrent/tasks/load_model.h"
#include "recurrent/io/safetensors.h"

namespace recurrent::cli {

namespace {

struct InspectArgs {
  std::string file;
  bool json = false;
};

// 1234567 -> "1,234,567"
std::string grouped(uint64_t v) {
  const std::string digits = std::to_string(v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Keeps a name or metadata value on one line: \n, \t, \r, \\ and other control bytes escaped.
std::string one_line(const std::string& v) {
  std::string out;
  for (const char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == '\n') out += "\\n";
    else if (ch == '\t') out += "\\t";
    else if (ch == '\r') out += "\\r";
    else if (ch == '\\') out += "\\\\";
    else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

void print_json(const io::SafeTensors& st) {
  nlohmann::ordered_json j;
  j["file"] = st.path();
  j["header_bytes"] = st.header_bytes();
  j["data_bytes"] = st.data_bytes();
  j["tensors"] = nlohmann::ordered_json::array();
  for (const auto& [name, t] : st.tensors()) {
    j["tensors"].push_back({{"name", name},
                            {"dtype", io::dtype_name(t.dtype)},
                            {"shape", t.shape},
                            {"data_offsets", {t.begin, t.end}},
                            {"bytes", t.nbytes()}});
  }
  j["metadata"] = st.metadata();
  // Metadata and names are validated UTF-8 JSON strings; "replace" keeps dump() from throwing anyway.
  std::printf("%s\n", j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
}

void print_text(const io::SafeTensors& st) {
  uint64_t elements = 0;
  size_t name_w = 4, shape_w = 5, bytes_w = 5;
  for (const auto& [name, t] : st.tensors()) {
    elements += static_cast<uint64_t>(t.numel());
    name_w = std::max(name_w, one_line(name).size());
    shape_w = std::max(shape_w, shape_str(t.shape).size());
    bytes_w = std::max(bytes_w, grouped(t.nbytes()).size());
  }
  const size_t n = st.tensors().size();
  std::printf("%s: %zu tensor%s, %s elements, %s data bytes, header %s bytes\n", st.path().c_str(), n,
              n == 1 ? "" : "s", grouped(elements).c_str(), grouped(st.data_bytes()).c_str(),
              grouped(st.header_bytes()).c_str());
  if (n > 0) {
    const int nw = static_cast<int>(name_w), sw = static_cast<int>(shape_w), bw = static_cast<int>(bytes_w);
    std::printf("%-*s  %-5s  %-*s  %*s\n", nw, "name", "dtype", sw, "shape", bw, "bytes");
    for (const auto& [name, t] : st.tensors())
      std::printf("%-*s  %-5s  %-*s  %*s\n", nw, one_line(name).c_str(), io::dtype_name(t.dtype), sw,
                  shape_str(t.shape).c_str(), bw, grouped(t.nbytes()).c_str());
  }
  std::printf("metadata (%zu)%s\n", st.metadata().size(), st.metadata().empty() ? "" : ":");
  for (const auto& [k, v] : st.metadata()) std::printf("  %s: %s\n", one_line(k).c_str(), one_line(v).c_str());
}

}  // namespace

void add_inspect(CLI::App& app) {
  auto a = std::make_shared<InspectArgs>();
  CLI::App* c = app.add_subcommand("inspect", "list a safetensors file's tensors (name, dtype, shape, bytes) and metadata");
  // No CLI::ExistingFile: the reader's own message ("FILE: cannot open: No such file or directory")
  // names the file the same way for every failure.
  c->add_option("FILE", a->file, "safetensors file (any producer: recurrent, PyTorch, huggingface), or a model "
                "folder (its best.safetensors, else last.safetensors)")->required();
  c->add_flag("--json", a->json, "print one JSON object instead of a table");
  c->callback([a] {
    const bool dir = std::filesystem::is_directory(a->file);
    const io::SafeTensors st = io::read_safetensors_header(dir ? tasks::resolve_model_path(a->file) : a->file);
    if (a->json) {
      print_json(st);
    } else {
      print_text(st);
    }
  });
}

}  // namespace recurrent::cli
