// Element types of safetensors files and exact scalar conversions. See include/recurrent/io/dtype.h.
#include "recurrent/io/dtype.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace recurrent::io {

namespace {
struct DTypeRow {
  DType t;
  const char* name;
  size_t size;
};
// The one registry of dtypes: name and element size per enum value, in enum order.
constexpr DTypeRow kDTypes[] = {
    {DType::BOOL, "BOOL", 1}, {DType::U8, "U8", 1},     {DType::I8, "I8", 1},     {DType::I16, "I16", 2},
    {DType::I32, "I32", 4},   {DType::I64, "I64", 8},   {DType::F16, "F16", 2},   {DType::BF16, "BF16", 2},
    {DType::F32, "F32", 4},   {DType::F64, "F64", 8},
};
const DTypeRow& row(DType t) { return kDTypes[static_cast<size_t>(t)]; }
}  // namespace

const char* dtype_name(DType t) { return row(t).name; }
size_t dtype_size(DType t) { return row(t).size; }
bool dtype_is_float(DType t) { return t == DType::F16 || t == DType::BF16 || t == DType::F32 || t == DType::F64; }

std::optional<DType> dtype_from_name(std::string_view s) {
  for (const auto& r : kDTypes)
    if (s == r.name) return r.t;
  return std::nullopt;
}

const char* supported_dtypes() { return "BOOL, U8, I8, I16, I32, I64, F16, BF16, F32, F64"; }

// half: 1 sign, 5 exponent (bias 15), 10 mantissa bits. float: 1, 8 (bias 127), 23.
float half_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t man = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (man << 13);  // inf, or NaN with its payload kept
  } else if (exp != 0) {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;  // ±0
  } else {
    // subnormal: man * 2^-24; normalise so the leading 1 moves to bit 10.
    int shift = std::countl_zero(static_cast<uint16_t>(man)) - 5;  // leading zeros within 10 bits
    man = (man << shift) & 0x3FFu;
    bits = sign | (static_cast<uint32_t>(127 - 15 + 1 - shift) << 23) | (man << 13);
  }
  return std::bit_cast<float>(bits);
}

uint16_t float_to_half(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  uint32_t ax = x & 0x7FFFFFFFu;
  if (ax > 0x7F800000u) {  // NaN: keep the top payload bits, force quiet so it stays a NaN
    return static_cast<uint16_t>(sign | 0x7C00u | 0x200u | ((ax >> 13) & 0x3FFu));
  }
  if (ax >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // >= 65520 rounds to inf
  if (ax < 0x38800000u) {  // below 2^-14: half subnormal (or zero); value = ax_real / 2^-24
    float a = std::bit_cast<float>(ax);
    // a * 2^24 is exact in float; nearbyint rounds to nearest-even under the default mode.
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(a * 16777216.0f)));
  }
  // normal: rebias exponent, round the 13 dropped mantissa bits to nearest-even
  uint32_t r = ax - ((127u - 15u) << 23);
  uint32_t lsb = (r >> 13) & 1u;
  r += 0xFFFu + lsb;
  return static_cast<uint16_t>(sign | (r >> 13));
}

float bf16_to_float(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

uint16_t float_to_bf16(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  uint32_t lsb = (x >> 16) & 1u;
  x += 0x7FFFu + lsb;  // overflow of the largest finite values carries into inf, as IEEE rounding does
  return static_cast<uint16_t>(x >> 16);
}

float double_to_float(double d) {
  if (std::isnan(d)) return std::copysign(std::numeric_limits<float>::quiet_NaN(), d);
  // The midpoint between FLT_MAX and 2^128; at or beyond it, round-to-nearest gives inf.
  // (Converting an out-of-range double to float is undefined behaviour in C++, hence the test.)
  constexpr double kOverflow = 0x1.ffffffp+127;
  if (d >= kOverflow) return std::numeric_limits<float>::infinity();
  if (d <= -kOverflow) return -std::numeric_limits<float>::infinity();
  return static_cast<float>(d);
}

}  // namespace recurrent::io
