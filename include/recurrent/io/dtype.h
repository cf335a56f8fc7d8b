// recurrent/io/dtype.h — element types of safetensors files and exact scalar conversions.
//
// The library computes in float32; files may hold other types. Conversions to float32:
//   F16  -> float32: exact (every half value, incl. subnormals, ±inf, NaN payloads, is a float).
//   BF16 -> float32: exact (bf16 is the top 16 bits of a float32).
//   F64  -> float32: IEEE round-to-nearest-even; |x| beyond float range rounds to ±inf; NaN stays NaN.
//   integers -> float32: round-to-nearest (exact up to 2^24).
// Integer types are read as int64 (BOOL: nonzero -> 1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace recurrent::io {

enum class DType : uint8_t { BOOL, U8, I8, I16, I32, I64, F16, BF16, F32, F64 };

const char* dtype_name(DType t);                          // "F32", as written in safetensors headers
std::optional<DType> dtype_from_name(std::string_view s);  // nullopt for unknown/unsupported names
size_t dtype_size(DType t);                               // bytes per element
bool dtype_is_float(DType t);                             // F16, BF16, F32, F64
const char* supported_dtypes();                           // "BOOL, U8, ..., F64" for error messages

float half_to_float(uint16_t h);      // exact
uint16_t float_to_half(float f);      // round-to-nearest-even; overflow -> ±inf; NaN stays NaN
float bf16_to_float(uint16_t b);      // exact
uint16_t float_to_bf16(float f);      // round-to-nearest-even; NaN stays NaN
float double_to_float(double d);      // round-to-nearest-even without undefined behaviour

}  // namespace recurrent::io
