// recurrent/data/idx.h — the IDX format of MNIST / Fashion-MNIST (LeCun et al., yann.lecun.com/exdb/mnist),
// plain or gzipped (zlib), and image/label pairs for sequential image classification.
//
// IDX file: magic = 0x00 0x00 TYPE NDIM (big-endian), then NDIM big-endian uint32 sizes, then the data
// row-major. Only TYPE 0x08 (unsigned byte) is read — the type of every MNIST-family file. A file whose
// first two bytes are 1f 8b is inflated first. Every malformed input throws Error(path, …) naming what
// was expected: bad magic, unsupported type, wrong number of dimensions, truncated or trailing data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace recurrent::data {

struct IdxArray {
  std::vector<int64_t> dims;  // [NDIM] sizes
  std::vector<uint8_t> data;  // [Π dims] row-major
};
// expect_ndim > 0: the number of dimensions the caller needs (3 images, 1 labels), else any.
IdxArray read_idx(const std::string& path, int expect_ndim = 0);

// The whole file, inflated if it is gzip (magic 1f 8b), else as is.
std::vector<uint8_t> read_maybe_gzip(const std::string& path);

struct ImageSet {
  int64_t n = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // [n, rows, cols]
  std::vector<uint8_t> labels;  // [n] class ids
  int64_t classes = 0;          // max label + 1
};
// images: IDX [n, rows, cols]; labels: IDX [n]. Throws if the counts differ.
ImageSet read_image_set(const std::string& images_path, const std::string& labels_path);

}  // namespace recurrent::data
