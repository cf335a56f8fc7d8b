// IDX reader (plain or gzipped). Contract: include/recurrent/data/idx.h.
#include "recurrent/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "recurrent/core/error.h"
#include "recurrent/core/limits.h"

namespace recurrent::data {

namespace {

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  RC_CHECK(f.good(), path, "cannot open for reading");
  check_input_file_size(path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Inflates a complete gzip stream (RFC 1952; windowBits 16 + 15 selects the gzip wrapper).
std::vector<uint8_t> gunzip(const std::vector<uint8_t>& in, const std::string& path) {
  z_stream z{};
  RC_CHECK(inflateInit2(&z, 16 + MAX_WBITS) == Z_OK, path, "zlib inflateInit2 failed");
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = buf;
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      const std::string msg = z.msg ? z.msg : "error " + std::to_string(rc);
      inflateEnd(&z);
      throw Error(path, "corrupt or truncated gzip data (" + msg + ")");
    }
    out.insert(out.end(), buf, buf + (sizeof buf - z.avail_out));
    if (out.size() > max_input_bytes()) {  // a gzip bomb: a few MB that inflate without end
      inflateEnd(&z);
      check_input_bytes(path, out.size(), "inflated data");
    }
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {  // input used up before the stream's end
      inflateEnd(&z);
      throw Error(path, "truncated gzip data (the stream ends before its end marker)");
    }
  }
  inflateEnd(&z);
  return out;
}

}  // namespace

std::vector<uint8_t> read_maybe_gzip(const std::string& path) {
  std::vector<uint8_t> raw = read_bytes(path);
  if (raw.size() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) return gunzip(raw, path);
  return raw;
}

IdxArray read_idx(const std::string& path, int expect_ndim) {
  const std::vector<uint8_t> b = read_maybe_gzip(path);
  RC_CHECK(b.size() >= 4, path, "IDX file of ", b.size(), " bytes: expected at least the 4-byte magic");
  RC_CHECK(b[0] == 0 && b[1] == 0, path, "bad IDX magic ", int(b[0]), " ", int(b[1]), " ", int(b[2]), " ", int(b[3]),
           ": expected 0 0 TYPE NDIM (is this an IDX file?)");
  RC_CHECK(b[2] == 0x08, path, "IDX data type 0x", std::hex, int(b[2]), std::dec,
           ": only unsigned bytes (0x08) are supported");
  const int ndim = b[3];
  RC_CHECK(ndim >= 1, path, "IDX file with 0 dimensions");
  RC_CHECK(expect_ndim <= 0 || ndim == expect_ndim, path, "IDX file with ", ndim, " dimensions, expected ",
           expect_ndim, expect_ndim == 3 ? " (images: count, rows, columns)" : expect_ndim == 1 ? " (labels: count)" : "");
  const size_t header = 4 + 4 * static_cast<size_t>(ndim);
  RC_CHECK(b.size() >= header, path, "truncated IDX header: ", b.size(), " bytes, expected ", header, " for ", ndim,
           " dimensions");
  IdxArray a;
  uint64_t total = 1;
  for (int d = 0; d < ndim; ++d) {
    const uint8_t* p = b.data() + 4 + 4 * d;
    const uint64_t n = (uint64_t(p[0]) << 24) | (uint64_t(p[1]) << 16) | (uint64_t(p[2]) << 8) | p[3];
    a.dims.push_back(static_cast<int64_t>(n));
    total *= n;
    RC_CHECK(total <= (uint64_t(1) << 40), path, "IDX sizes multiply to more than 2^40 elements");
  }
  const uint64_t have = b.size() - header;
  RC_CHECK(have >= total, path, "truncated IDX data: ", have, " bytes after the header, expected ", total);
  RC_CHECK(have == total, path, "IDX file has ", have - total, " bytes after its ", total, " data bytes");
  a.data.assign(b.begin() + static_cast<std::ptrdiff_t>(header), b.end());
  return a;
}

ImageSet read_image_set(const std::string& images_path, const std::string& labels_path) {
  IdxArray im = read_idx(images_path, 3), lb = read_idx(labels_path, 1);
  RC_CHECK(im.dims[0] == lb.dims[0], labels_path, lb.dims[0], " labels, but ", images_path, " holds ", im.dims[0],
           " images");
  RC_CHECK(im.dims[0] > 0 && im.dims[1] > 0 && im.dims[2] > 0, images_path, "empty image set");
  ImageSet s;
  s.n = im.dims[0], s.rows = im.dims[1], s.cols = im.dims[2];
  s.pixels = std::move(im.data);
  s.labels = std::move(lb.data);
  s.classes = 1 + *std::max_element(s.labels.begin(), s.labels.end());
  return s;
}

}  // namespace recurrent::data
