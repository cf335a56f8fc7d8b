// safetensors writer: F32, I64 and raw tensors of any dtype + string metadata, written atomically.
// Layout (as the reference writer does): tensors sorted by decreasing element size, then by name,
// packed back to back, so each tensor starts at a multiple of its element size; the JSON header is
// padded with spaces so the data section starts at a multiple of 8 bytes in the file.
#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "recurrent/core/error.h"
#include "recurrent/io/atomic_file.h"
#include "recurrent/io/safetensors.h"

namespace recurrent::io {

namespace {

// One tensor to write: where its bytes come from. F32 data is made contiguous first.
struct Item {
  std::string name;
  DType dtype;
  Shape shape;
  const void* data;
  uint64_t nbytes;
};

struct Plan {
  std::string header;  // 8-byte length field + padded JSON
  std::vector<Item> items;
  std::vector<Tensor> keep_alive;  // contiguous copies of strided inputs
};

// numel of a caller-given shape (unlike a Tensor's, not validated yet): dims >= 0, no overflow.
int64_t checked_numel(const Shape& shape, const std::string& name, const std::string& where) {
  int64_t numel = 1;
  for (int64_t d : shape) {
    RC_CHECK(d >= 0, where, "tensor '", name, "': shape ", shape_str(shape), " has a negative dimension");
    RC_CHECK(!__builtin_mul_overflow(numel, d, &numel), where, "tensor '", name, "': shape ", shape_str(shape),
             " has more elements than fit in 64 bits");
  }
  return numel;
}

Plan plan_file(const NamedTensors& f32, const Metadata& metadata, const NamedI64Tensors& i64,
               const NamedRawTensors& raw, const std::string& where) {
  Plan p;
  std::set<std::string> seen;
  auto check_name = [&](const std::string& name) {
    RC_CHECK(!name.empty(), where, "empty tensor name");
    RC_CHECK(name != "__metadata__", where, "'__metadata__' is reserved and cannot name a tensor");
    RC_CHECK(seen.insert(name).second, where, "tensor name '", name, "' given twice");
  };
  for (const auto& [name, t] : f32) {
    check_name(name);
    RC_CHECK(t.defined(), where, "tensor '", name, "' is undefined");
    Tensor c = t.contiguous();
    p.keep_alive.push_back(c);
    p.items.push_back({name, DType::F32, c.shape(), c.data(), uint64_t(c.numel()) * 4});
  }
  for (const auto& [name, t] : i64) {
    check_name(name);
    const int64_t numel = checked_numel(t.shape, name, where);
    RC_CHECK(static_cast<int64_t>(t.values.size()) == numel, where, "tensor '", name,
             "': ", t.values.size(), " values for shape ", shape_str(t.shape));
    p.items.push_back({name, DType::I64, t.shape, t.values.data(), uint64_t(t.values.size()) * 8});
  }
  for (const auto& [name, t] : raw) {
    check_name(name);
    const int64_t numel = checked_numel(t.shape, name, where);
    uint64_t nbytes = 0;
    RC_CHECK(!__builtin_mul_overflow(uint64_t(numel), uint64_t(dtype_size(t.dtype)), &nbytes) &&
                 nbytes == t.bytes.size(),
             where, "tensor '", name, "': ", t.bytes.size(), " bytes for shape ", shape_str(t.shape), " of ",
             dtype_name(t.dtype), " (", dtype_size(t.dtype), " bytes per element)");
    p.items.push_back({name, t.dtype, t.shape, t.bytes.data(), nbytes});
  }
  std::sort(p.items.begin(), p.items.end(), [](const Item& a, const Item& b) {
    size_t sa = dtype_size(a.dtype), sb = dtype_size(b.dtype);
    return sa != sb ? sa > sb : a.name < b.name;
  });

  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const Item& it : p.items) {
    h[it.name] = {{"dtype", dtype_name(it.dtype)}, {"shape", it.shape}, {"data_offsets", {offset, offset + it.nbytes}}};
    offset += it.nbytes;
  }
  // dump() with ensure_ascii=false keeps UTF-8 names as is; error_handler strict rejects invalid UTF-8.
  std::string text;
  try {
    text = h.dump();
  } catch (const nlohmann::json::exception& e) {
    throw Error(where, std::string("a tensor name or metadata string is not valid UTF-8: ") + e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  uint64_t n = text.size();
  p.header.resize(8);
  for (int i = 0; i < 8; ++i) p.header[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  p.header += text;
  return p;
}

}  // namespace

std::vector<uint8_t> serialize_safetensors(const NamedTensors& f32, const Metadata& metadata,
                                           const NamedI64Tensors& i64, const NamedRawTensors& raw) {
  Plan p = plan_file(f32, metadata, i64, raw, "serialize_safetensors");
  std::vector<uint8_t> out(p.header.begin(), p.header.end());
  for (const Item& it : p.items) {
    const uint8_t* b = static_cast<const uint8_t*>(it.data);
    out.insert(out.end(), b, b + it.nbytes);
  }
  return out;
}

void write_safetensors(const std::string& path, const NamedTensors& f32, const Metadata& metadata,
                       const NamedI64Tensors& i64, const NamedRawTensors& raw) {
  Plan p = plan_file(f32, metadata, i64, raw, path);
  AtomicFile f(path);
  f.write(p.header);
  for (const Item& it : p.items) f.write(it.data, it.nbytes);
  f.commit();
}

}  // namespace recurrent::io
