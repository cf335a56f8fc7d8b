// safetensors reader: header validation and conversion to float32 / int64.
// The format and the validation policy are described in include/recurrent/io/safetensors.h.
// Every size read from the file is untrusted: products and sums use checked arithmetic, and
// every byte range is validated against the data section before it is touched.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "recurrent/core/error.h"
#include "recurrent/io/safetensors.h"

static_assert(std::endian::native == std::endian::little, "the safetensors reader assumes a little-endian host");

namespace recurrent::io {

using nlohmann::json;

namespace {

constexpr int kMaxJsonDepth = 16;  // a valid header nests 3 deep: {name: {shape: [..]}}

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A name from the file as it goes into an error message: control characters escaped, so a name
// holding "\n" cannot split the one-line error the CLI prints (nor forge a second line).
std::string shown(const std::string& name) {
  std::string out;
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

// A first SAX pass over the header: nlohmann's DOM parser silently keeps the last of duplicate
// keys, which would let two different "weight" entries hide one another. This pass rejects
// duplicates at every level and bounds the nesting depth before any DOM is built.
class HeaderScan : public nlohmann::json_sax<json> {
 public:
  std::string error;  // empty when the header is well-formed JSON without duplicate keys

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return push(true); }
  bool start_array(std::size_t) override { return push(false); }
  bool end_object() override { return pop(); }
  bool end_array() override { return pop(); }
  bool key(string_t& k) override {
    auto& keys = frames_.back();
    if (!keys.insert(k).second) {
      error = frames_.size() == 1 ? "duplicate tensor name '" + shown(k) + "' in the header"
                                  : "duplicate key '" + shown(k) + "' inside '" + shown(top_key_) + "'";
      return false;
    }
    if (frames_.size() == 1) top_key_ = k;
    return true;
  }
  bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception& ex) override {
    std::string msg = ex.what();
    size_t close = msg.find("] ");  // drop nlohmann's "[json.exception.parse_error.101] " prefix
    if (close != std::string::npos) msg = msg.substr(close + 2);
    error = "header is not valid JSON (at byte " + std::to_string(pos) + " of the header: " + msg + ")";
    return false;
  }

 private:
  bool push(bool) {
    if (frames_.size() >= static_cast<size_t>(kMaxJsonDepth)) {
      error = "header JSON is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
      return false;
    }
    frames_.emplace_back();
    return true;
  }
  bool pop() {
    frames_.pop_back();
    return true;
  }
  std::vector<std::set<std::string>> frames_;  // keys seen per open object/array
  std::string top_key_;
};

json parse_header_json(std::string_view text, const std::string& where) {
  HeaderScan scan;
  bool ok = json::sax_parse(text.begin(), text.end(), &scan);
  RC_CHECK(ok && scan.error.empty(), where, scan.error.empty() ? "header is not valid JSON" : scan.error);
  json j = json::parse(text.begin(), text.end());  // cannot fail: the SAX pass accepted it
  const std::string type = j.type_name();
  RC_CHECK(j.is_object(), where, "header must be a JSON object {name: {dtype, shape, data_offsets}}, got ",
           type == "array" ? "an " : "a ", type);
  return j;
}

std::string tensor_where(const std::string& name) { return "tensor '" + shown(name) + "': "; }

Shape parse_shape(const json& s, const std::string& name, const std::string& where) {
  RC_CHECK(s.is_array(), where, tensor_where(name), "'shape' must be a list of non-negative integers, got ",
           s.dump());
  // The product of the NON-ZERO dims must fit in int64, not only numel: a shape like [0, 2^40, 2^40]
  // has numel 0 but its row-major strides (and a dim above 2^63, cast to int64) would overflow.
  Shape shape;
  uint64_t nonzero_product = 1;
  for (const json& d : s) {
    RC_CHECK(d.is_number_unsigned(), where, tensor_where(name),
             "'shape' must be a list of non-negative integers, got ", s.dump());
    uint64_t v = d.get<uint64_t>();
    RC_CHECK(!__builtin_mul_overflow(nonzero_product, v == 0 ? 1 : v, &nonzero_product) &&
                 nonzero_product <= uint64_t(std::numeric_limits<int64_t>::max()),
             where, tensor_where(name), "shape ", s.dump(), " has more elements than fit in 64 bits");
    shape.push_back(static_cast<int64_t>(v));
  }
  return shape;
}

TensorInfo parse_entry(const std::string& name, const json& e, const std::string& where) {
  RC_CHECK(!name.empty(), where, "empty tensor name in the header");
  RC_CHECK(e.is_object(), where, tensor_where(name), "expected an object {dtype, shape, data_offsets}, got ",
           e.type_name());
  for (const char* field : {"dtype", "shape", "data_offsets"})
    RC_CHECK(e.contains(field), where, tensor_where(name), "missing field '", field, "'");
  for (const auto& [k, v] : e.items())
    RC_CHECK(k == "dtype" || k == "shape" || k == "data_offsets", where, tensor_where(name), "unexpected field '",
             k, "' (expected only dtype, shape, data_offsets)");

  TensorInfo t;
  const json& dt = e["dtype"];
  RC_CHECK(dt.is_string(), where, tensor_where(name), "'dtype' must be a string, got ", dt.dump());
  auto parsed = dtype_from_name(dt.get_ref<const std::string&>());
  RC_CHECK(parsed.has_value(), where, tensor_where(name), "unsupported dtype ", dt.dump(), " (supported: ",
           supported_dtypes(), ")");
  t.dtype = *parsed;
  t.shape = parse_shape(e["shape"], name, where);

  const json& off = e["data_offsets"];
  RC_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(), where,
           tensor_where(name), "'data_offsets' must be two non-negative integers [begin, end], got ", off.dump());
  t.begin = off[0].get<uint64_t>();
  t.end = off[1].get<uint64_t>();
  RC_CHECK(t.begin <= t.end, where, tensor_where(name), "data_offsets [", t.begin, ", ", t.end,
           "] must have begin <= end");
  uint64_t expect = 0;
  RC_CHECK(!__builtin_mul_overflow(static_cast<uint64_t>(t.numel()), dtype_size(t.dtype), &expect), where,
           tensor_where(name), "byte size of shape ", shape_str(t.shape), " overflows 64 bits");
  RC_CHECK(t.end - t.begin == expect, where, tensor_where(name), "data_offsets [", t.begin, ", ", t.end, "] span ",
           t.end - t.begin, " bytes, but shape ", shape_str(t.shape), " of ", dtype_name(t.dtype), " needs ",
           expect, " bytes");
  return t;
}

Metadata parse_metadata(const json& m, const std::string& where) {
  RC_CHECK(m.is_object(), where, "'__metadata__' must be an object of string values, got ", m.type_name());
  Metadata out;
  for (const auto& [k, v] : m.items()) {
    RC_CHECK(v.is_string(), where, "'__metadata__' must map strings to strings, but key '", shown(k), "' holds ",
             v.dump());
    out.emplace(k, v.get<std::string>());
  }
  return out;
}

// The tensors must cover [0, data_bytes) exactly, in offset order, like the reference reader.
void check_tiling(const std::map<std::string, TensorInfo>& tensors, uint64_t data_bytes, const std::string& where) {
  std::vector<std::pair<const std::string*, const TensorInfo*>> order;
  for (const auto& [name, t] : tensors) order.emplace_back(&name, &t);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.second->begin != b.second->begin ? a.second->begin < b.second->begin : a.second->end < b.second->end;
  });
  uint64_t pos = 0;
  const std::string* prev = nullptr;
  for (const auto& [name, t] : order) {
    RC_CHECK(t->end <= data_bytes, where, tensor_where(*name), "data_offsets [", t->begin, ", ", t->end,
             "] extend beyond the data section (", data_bytes, " bytes); the file is truncated or corrupt");
    RC_CHECK(t->begin >= pos, where, tensor_where(*name), "data_offsets [", t->begin, ", ", t->end,
             "] overlap tensor '", prev ? shown(*prev) : "", "' (which ends at ", pos, ")");
    RC_CHECK(t->begin == pos, where, "bytes [", pos, ", ", t->begin,
             ") of the data section belong to no tensor (gap before tensor '", shown(*name), "')");
    pos = t->end;
    prev = name;
  }
  RC_CHECK(pos == data_bytes, where, data_bytes - pos, " trailing bytes after the last tensor (data section is ",
           data_bytes, " bytes, tensors cover ", pos, ")");
}

}  // namespace

SafeTensors parse_safetensors_header(std::span<const uint8_t> prefix, uint64_t file_size, const std::string& where) {
  RC_CHECK(file_size >= 8 && prefix.size() >= 8, where, "file is ", file_size,
           " bytes, too short for a safetensors file (which starts with an 8-byte header length)");
  uint64_t n = read_u64_le(prefix.data());
  RC_CHECK(n <= kMaxHeaderBytes, where, "header length ", n, " is larger than the limit of ", kMaxHeaderBytes,
           " bytes; not a safetensors file?");
  RC_CHECK(n <= file_size - 8, where, "header length ", n, " exceeds the ", file_size - 8,
           " bytes after the length field; file truncated or not a safetensors file");
  RC_CHECK(prefix.size() >= 8 + n, where, "internal: header prefix too short");
  std::string_view text(reinterpret_cast<const char*>(prefix.data()) + 8, n);
  json j = parse_header_json(text, where);

  SafeTensors st;
  st.path_ = where;
  st.header_bytes_ = n;
  st.data_bytes_ = file_size - 8 - n;
  for (const auto& [name, entry] : j.items()) {
    if (name == "__metadata__")
      st.metadata_ = parse_metadata(entry, where);
    else
      st.tensors_.emplace(name, parse_entry(name, entry, where));
  }
  check_tiling(st.tensors_, st.data_bytes_, where);
  return st;
}

SafeTensors parse_safetensors(std::vector<uint8_t> bytes, const std::string& where) {
  SafeTensors st = parse_safetensors_header(bytes, bytes.size(), where);
  st.file_ = std::move(bytes);
  st.has_data_ = true;
  return st;
}

namespace {
// Opens a regular file for reading; returns the fd and its size.
int open_regular(const std::string& path, uint64_t& size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path, "not a regular file");
  }
  size = static_cast<uint64_t>(st.st_size);
  return fd;
}

// Reads exactly n bytes at `offset`; throws on a short read (e.g. the file shrank meanwhile).
void read_exact(int fd, uint8_t* dst, uint64_t n, uint64_t offset, const std::string& path) {
  while (n > 0) {
    ssize_t r = ::pread(fd, dst, std::min<uint64_t>(n, 1u << 30), static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw Error(path, r < 0 ? std::string("read failed: ") + std::strerror(errno)
                                        : std::string("file shrank while being read"));
    dst += r;
    n -= static_cast<uint64_t>(r);
    offset += static_cast<uint64_t>(r);
  }
}

struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};
}  // namespace

namespace {
// Reads the length field and the header of an open file: at most 8 + N bytes, N validated first.
std::vector<uint8_t> read_prefix(int fd, uint64_t size, const std::string& path) {
  std::vector<uint8_t> prefix(std::min<uint64_t>(size, 8));
  read_exact(fd, prefix.data(), prefix.size(), 0, path);
  if (prefix.size() == 8) {
    uint64_t n = read_u64_le(prefix.data());
    if (n <= kMaxHeaderBytes && n <= size - 8) {  // else parse_safetensors_header reports it
      prefix.resize(8 + n);
      read_exact(fd, prefix.data() + 8, n, 8, path);
    }
  }
  return prefix;
}
}  // namespace

SafeTensors read_safetensors_header(const std::string& path) {
  uint64_t size = 0;
  FdCloser fd{open_regular(path, size)};
  return parse_safetensors_header(read_prefix(fd.fd, size, path), size, path);
}

SafeTensors read_safetensors(const std::string& path) {
  uint64_t size = 0;
  FdCloser fd{open_regular(path, size)};
  std::vector<uint8_t> bytes = read_prefix(fd.fd, size, path);
  // Validate the header before reading (possibly gigabytes of) data.
  (void)parse_safetensors_header(bytes, size, path);
  RC_CHECK(size <= uint64_t(std::numeric_limits<ptrdiff_t>::max()), path, "file too large");
  uint64_t have = bytes.size();
  bytes.resize(size);
  read_exact(fd.fd, bytes.data() + have, size - have, have, path);
  return parse_safetensors(std::move(bytes), path);
}

// ---- access ----------------------------------------------------------------------------------

const TensorInfo& SafeTensors::info(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it != tensors_.end()) return it->second;
  std::string have;
  for (const auto& [n, t] : tensors_) {
    if (have.size() > 200) {
      have += ", ...";
      break;
    }
    have += (have.empty() ? "" : ", ") + shown(n);
  }
  throw Error(path_, "no tensor '" + shown(name) + "' in the file (it has: " + (have.empty() ? "none" : have) + ")");
}

std::vector<std::string> SafeTensors::names() const {
  std::vector<std::string> out;
  for (const auto& [n, t] : tensors_) out.push_back(n);
  return out;
}

std::string SafeTensors::metadata_or(const std::string& key, const std::string& fallback) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? fallback : it->second;
}

std::span<const uint8_t> SafeTensors::raw(const std::string& name) const {
  const TensorInfo& t = info(name);
  RC_CHECK(has_data_, path_, "tensor '", shown(name), "': only the header was read");
  // Offsets were validated against the data section by check_tiling().
  return std::span<const uint8_t>(file_.data() + 8 + header_bytes_ + t.begin, t.nbytes());
}

RawTensor SafeTensors::raw_tensor(const std::string& name) const {
  const std::span<const uint8_t> bytes = raw(name);
  const TensorInfo& t = info(name);
  return {t.dtype, t.shape, std::vector<uint8_t>(bytes.begin(), bytes.end())};
}

namespace {
template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // data is not necessarily aligned
  return v;
}

// Element i of a little-endian buffer of `dt`, as int64 (integer dtypes only).
int64_t int_at(DType dt, const uint8_t* p) {
  switch (dt) {
    case DType::BOOL: return p[0] != 0;
    case DType::U8: return p[0];
    case DType::I8: return load<int8_t>(p);
    case DType::I16: return load<int16_t>(p);
    case DType::I32: return load<int32_t>(p);
    case DType::I64: return load<int64_t>(p);
    default: return 0;  // unreachable: callers check dtype_is_float first
  }
}

float float_at(DType dt, const uint8_t* p) {
  switch (dt) {
    case DType::F16: return half_to_float(load<uint16_t>(p));
    case DType::BF16: return bf16_to_float(load<uint16_t>(p));
    case DType::F32: return load<float>(p);
    case DType::F64: return double_to_float(load<double>(p));
    default: return static_cast<float>(int_at(dt, p));  // integers: round to nearest
  }
}
}  // namespace

Tensor SafeTensors::get_f32(const std::string& name) const {
  const TensorInfo& t = info(name);
  std::span<const uint8_t> bytes = raw(name);
  Tensor out(t.shape);
  float* dst = out.data();
  const size_t es = dtype_size(t.dtype);
  if (t.dtype == DType::F32) {
    if (!bytes.empty()) std::memcpy(dst, bytes.data(), bytes.size());  // bit-exact, NaN payloads kept
  } else {
    for (int64_t i = 0; i < t.numel(); ++i) dst[i] = float_at(t.dtype, bytes.data() + i * es);
  }
  return out;
}

std::vector<int64_t> SafeTensors::get_i64(const std::string& name) const {
  const TensorInfo& t = info(name);
  RC_CHECK(!dtype_is_float(t.dtype), path_, "tensor '", shown(name), "': has dtype ", dtype_name(t.dtype),
           ", expected an integer dtype (I64, I32, I16, I8, U8, BOOL)");
  std::span<const uint8_t> bytes = raw(name);
  const size_t es = dtype_size(t.dtype);
  std::vector<int64_t> out(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < out.size(); ++i) out[i] = int_at(t.dtype, bytes.data() + i * es);
  return out;
}

}  // namespace recurrent::io
