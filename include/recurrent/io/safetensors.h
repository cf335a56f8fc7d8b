// recurrent/io/safetensors.h — read and write the safetensors format (huggingface/safetensors).
//
// File layout: [u64 little-endian N][N bytes UTF-8 JSON header][data section]. The header maps
// tensor names to {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]} with
// offsets relative to the data section, plus an optional "__metadata__" string -> string map.
//
// Reader policy (same rules as the reference Rust implementation, so what we accept it accepts):
//   - header length <= 100,000,000 bytes and within the file; the header is one JSON object,
//     optionally padded with trailing spaces; duplicate keys at any level are rejected;
//   - each entry has exactly the fields dtype, shape, data_offsets; shape dims are non-negative
//     integers whose product (and byte size) does not overflow, nor does the product of the non-zero
//     dims (so an empty tensor's strides fit in int64 too); end - begin == numel * dtype size;
//   - the tensors tile the data section exactly: sorted by offset, no overlap, no gap, and no
//     trailing bytes after the last tensor (a truncated or padded file is an error);
//   - "__metadata__" must be an object of string values.
// Every violation throws recurrent::Error(path, message naming the tensor and what was expected).
// All arithmetic on untrusted sizes is overflow-checked, so any input is handled memory-safely.
//
// Writer: F32 and I64 tensors, raw tensors of any dtype (copied bit for bit), and metadata. Like the reference writer, tensors are laid out by
// decreasing dtype size then name (so every tensor is aligned to its element size) and the header
// is padded with spaces to a multiple of 8 bytes. The write is atomic (io/atomic_file.h).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "recurrent/core/tensor.h"
#include "recurrent/io/dtype.h"

namespace recurrent::io {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct TensorInfo {
  DType dtype = DType::F32;
  Shape shape;
  uint64_t begin = 0;  // byte offsets into the data section, [begin, end)
  uint64_t end = 0;
  int64_t numel() const { return shape_numel(shape); }  // validated not to overflow
  uint64_t nbytes() const { return end - begin; }
};

// A tensor of any dtype as little-endian bytes (bytes.size() == numel(shape) * dtype_size), written
// unchanged: copies tensors between files without conversion (e.g. SafeTensors::raw_tensor()).
struct RawTensor {
  DType dtype = DType::F32;
  Shape shape;
  std::vector<uint8_t> bytes;
};

class SafeTensors {
 public:
  const std::string& path() const { return path_; }
  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }  // by name
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  uint64_t header_bytes() const { return header_bytes_; }  // N (JSON header incl. padding)
  uint64_t data_bytes() const { return data_bytes_; }      // size of the data section
  bool has_data() const { return has_data_; }              // false for read_safetensors_header()

  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  const TensorInfo& info(const std::string& name) const;  // throws Error listing the names present
  std::vector<std::string> names() const;                 // sorted
  std::string metadata_or(const std::string& key, const std::string& fallback) const;

  Tensor get_f32(const std::string& name) const;             // any dtype, converted (see dtype.h)
  std::vector<int64_t> get_i64(const std::string& name) const;  // integer dtypes only
  std::span<const uint8_t> raw(const std::string& name) const;  // little-endian bytes as stored
  RawTensor raw_tensor(const std::string& name) const;          // dtype, shape and a copy of the bytes

 private:
  friend SafeTensors parse_safetensors_header(std::span<const uint8_t>, uint64_t, const std::string&);
  friend SafeTensors parse_safetensors(std::vector<uint8_t>, const std::string&);
  std::string path_;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
  uint64_t header_bytes_ = 0;
  uint64_t data_bytes_ = 0;
  bool has_data_ = false;
  std::vector<uint8_t> file_;  // the whole file when has_data_; data section starts at 8 + N
};

// Reads and validates the whole file (header and data).
SafeTensors read_safetensors(const std::string& path);
// Reads and validates only the header against the file size (cheap; for `recurrent inspect`).
SafeTensors read_safetensors_header(const std::string& path);

// In-memory forms; `where` names the source in error messages.
// parse_safetensors_header: `prefix` holds at least the first 8 + N bytes (or all there is) of a
// file of `file_size` bytes.
SafeTensors parse_safetensors(std::vector<uint8_t> bytes, const std::string& where);
SafeTensors parse_safetensors_header(std::span<const uint8_t> prefix, uint64_t file_size,
                                     const std::string& where);

// An int64 tensor to write (e.g. lengths, token ids). values.size() == numel(shape).
struct I64Tensor {
  Shape shape;
  std::vector<int64_t> values;
};

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using NamedI64Tensors = std::vector<std::pair<std::string, I64Tensor>>;
using NamedRawTensors = std::vector<std::pair<std::string, RawTensor>>;
using Metadata = std::map<std::string, std::string>;

// Serialises to bytes (the exact file content). Names must be unique (across all three lists),
// non-empty, not "__metadata__".
std::vector<uint8_t> serialize_safetensors(const NamedTensors& f32, const Metadata& metadata = {},
                                           const NamedI64Tensors& i64 = {}, const NamedRawTensors& raw = {});
// Writes atomically: a temp file next to `path`, fsync, rename over `path`, fsync the directory.
void write_safetensors(const std::string& path, const NamedTensors& f32, const Metadata& metadata = {},
                       const NamedI64Tensors& i64 = {}, const NamedRawTensors& raw = {});

}  // namespace recurrent::io
