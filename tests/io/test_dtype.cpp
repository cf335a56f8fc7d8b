// Scalar dtype conversions (include/recurrent/io/dtype.h) against independent oracles:
//   F16 -> F32  every one of the 65536 half values against the defining formula (ldexp in double);
//   F32 -> F16  against the compiler's IEEE half conversion (x86-64: _Float16 through libgcc;
//               aarch64: __fp16, the fcvt instruction; both round to nearest even)
//               on all ties near 1, all half subnormal ties, and 2M random floats;
//   F32 -> BF16 against "nearest bf16 by distance in double, ties to even";
//   F64 -> F32  against the hardware conversion inside the float range, and the overflow edge;
// plus a fixture whose bytes and float32 conversions were made by PyTorch
// (scripts/fixtures/make_dtype_fixture.py), read through the safetensors reader.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <span>

#include "recurrent/core/rng.h"
#include "recurrent/io/dtype.h"
#include "recurrent/io/safetensors.h"

using namespace recurrent;
using namespace recurrent::io;

namespace {

uint32_t bits(float f) { return std::bit_cast<uint32_t>(f); }

TEST(DType, NamesSizesAndRegistry) {
  const DType all[] = {DType::BOOL, DType::U8,  DType::I8,   DType::I16, DType::I32,
                       DType::I64,  DType::F16, DType::BF16, DType::F32, DType::F64};
  const size_t sizes[] = {1, 1, 1, 2, 4, 8, 2, 2, 4, 8};
  for (size_t i = 0; i < std::size(all); ++i) {
    EXPECT_EQ(dtype_size(all[i]), sizes[i]) << dtype_name(all[i]);
    EXPECT_EQ(dtype_from_name(dtype_name(all[i])), all[i]);
    EXPECT_NE(std::string(supported_dtypes()).find(dtype_name(all[i])), std::string::npos);
  }
  EXPECT_FALSE(dtype_from_name("f32").has_value());
  EXPECT_FALSE(dtype_from_name("F8_E5M2").has_value());
  EXPECT_FALSE(dtype_from_name("").has_value());
  EXPECT_TRUE(dtype_is_float(DType::BF16));
  EXPECT_FALSE(dtype_is_float(DType::I64));
}

// The definition of binary16: (-1)^s * 2^(e-15) * (1 + m/1024), subnormal (-1)^s * 2^-14 * m/1024.
TEST(DType, HalfToFloatIsExactForAll65536Values) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint32_t s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    const float got = half_to_float(static_cast<uint16_t>(h));
    if (e == 31) {
      // inf, or NaN with its payload in the top mantissa bits (the sign kept)
      EXPECT_EQ(bits(got), (s << 31) | 0x7F800000u | (m << 13)) << std::hex << h;
      continue;
    }
    const double mag = e == 0 ? std::ldexp(static_cast<double>(m), -24) : std::ldexp(1.0 + m / 1024.0, int(e) - 15);
    const float want = static_cast<float>(s ? -mag : mag);  // exact: every half is a float
    ASSERT_EQ(bits(got), bits(want)) << "half 0x" << std::hex << h;
  }
}

// GCC 12 has _Float16 in C++ on x86 only; on aarch64 its IEEE half is __fp16 (an fcvt instruction).
#if defined(__aarch64__)
using IeeeHalf = __fp16;
#else
using IeeeHalf = _Float16;
#endif

TEST(DType, FloatToHalfMatchesIeeeConversion) {
  auto oracle = [](float f) { return std::bit_cast<uint16_t>(static_cast<IeeeHalf>(f)); };
  auto check = [&](float f) {
    const uint16_t got = float_to_half(f), want = oracle(f);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(half_to_float(got))) << f;
      EXPECT_EQ(got >> 15, bits(f) >> 31) << "NaN keeps its sign";
    } else {
      ASSERT_EQ(got, want) << "float " << f << " (0x" << std::hex << bits(f) << ")";
    }
  };
  // Every half round-trips.
  for (uint32_t h = 0; h < 65536; ++h)
    if (((h >> 10) & 31) != 31 || (h & 1023) == 0) check(half_to_float(static_cast<uint16_t>(h)));
  // Every exact tie between two adjacent finite halves, and the points one float ulp either side.
  for (uint32_t h = 0; h < 0x7BFF; ++h) {
    const float lo = half_to_float(static_cast<uint16_t>(h)), hi = half_to_float(static_cast<uint16_t>(h + 1));
    const float mid = static_cast<float>((static_cast<double>(lo) + hi) / 2);  // exact in float
    for (float f : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e9f)}) {
      check(f);
      check(-f);
    }
  }
  // Overflow edge: 65520 is the tie between 65504 and 2^16 (-> inf by ties-to-even).
  EXPECT_EQ(float_to_half(65519.996f), 0x7BFF);
  EXPECT_EQ(float_to_half(65520.0f), 0x7C00);
  EXPECT_EQ(float_to_half(-1e30f), 0xFC00);
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0x0000);  // tie between 0 and the min subnormal -> 0
  EXPECT_EQ(float_to_half(std::ldexp(3.0f, -25)), 0x0002);  // 1.5 * min subnormal: tie -> 2 (even)
  EXPECT_EQ(float_to_half(std::ldexp(5.0f, -25)), 0x0002);  // 2.5 * min subnormal: tie -> 2 (even)
  EXPECT_EQ(float_to_half(std::ldexp(3.0f, -26)), 0x0001);  // 0.75 * min subnormal -> 1 (nearest)
  EXPECT_EQ(float_to_half(-0.0f), 0x8000);
  // Random floats over the whole bit range (exponents far outside half's saturate or flush).
  Rng rng(7);
  for (int i = 0; i < 2'000'000; ++i) check(std::bit_cast<float>(rng.next_u32()));
  // Random floats near half's range, where the rounding is interesting.
  for (int i = 0; i < 1'000'000; ++i) check(std::ldexp(rng.uniform(-1.0f, 1.0f), static_cast<int>(rng.below(46)) - 28));
}

// Nearest bf16 by distance (in double, exact for these magnitudes), ties to the even mantissa.
uint16_t bf16_oracle(float f) {
  const uint32_t x = bits(f);
  const uint16_t lo = static_cast<uint16_t>(x >> 16);  // truncation toward zero
  const uint16_t hi = static_cast<uint16_t>(lo + 1);   // next magnitude (may be inf)
  const double dlo = std::fabs(static_cast<double>(f) - bf16_to_float(lo));
  const double dhi = std::fabs(static_cast<double>(f) - bf16_to_float(hi));
  if (dlo != dhi) return dlo < dhi ? lo : hi;
  return (lo & 1) ? hi : lo;
}

TEST(DType, Bf16ConversionsRoundToNearestEven) {
  for (uint32_t b = 0; b < 65536; ++b) {
    const float f = bf16_to_float(static_cast<uint16_t>(b));
    EXPECT_EQ(bits(f), b << 16);  // exact: bf16 is the top half of a float
    if (!std::isnan(f)) {
      ASSERT_EQ(float_to_bf16(f), b);
    }
  }
  EXPECT_EQ(float_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);      // tie -> even (1.0)
  EXPECT_EQ(float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);  // tie -> even (up)
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::max()), 0x7F80);  // rounds up into inf
  const float nan_payload = std::bit_cast<float>(0x7F800001u);           // signalling, payload only in low bits
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(nan_payload)))) << "NaN must not become inf";
  EXPECT_EQ(float_to_bf16(std::bit_cast<float>(0xFFC00000u)) >> 15, 1) << "NaN keeps its sign";
  Rng rng(11);
  for (int i = 0; i < 2'000'000; ++i) {
    const float f = std::bit_cast<float>(rng.next_u32());
    if (std::isnan(f) || std::isinf(f)) continue;
    if ((bits(f) & 0x7FFFFFFFu) >= 0x7F7F0000u) continue;  // above the largest bf16: the oracle's hi is inf
    ASSERT_EQ(float_to_bf16(f), bf16_oracle(f)) << std::hex << bits(f);
  }
}

TEST(DType, DoubleToFloatRoundsAndSaturatesWithoutUB) {
  const double flt_max = std::numeric_limits<float>::max();
  const double half_ulp = std::ldexp(1.0, 103);  // half the float spacing at FLT_MAX
  EXPECT_EQ(double_to_float(flt_max), std::numeric_limits<float>::max());
  EXPECT_EQ(double_to_float(flt_max + half_ulp - std::ldexp(1.0, 75)), std::numeric_limits<float>::max());
  EXPECT_EQ(double_to_float(flt_max + half_ulp), std::numeric_limits<float>::infinity());  // tie -> even = inf
  EXPECT_EQ(double_to_float(-1e300), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(double_to_float(1e-46), 0.0f);
  EXPECT_EQ(bits(double_to_float(-1e-46)), 0x80000000u);
  EXPECT_EQ(bits(double_to_float(1e-45)), 1u);  // nearest subnormal
  EXPECT_TRUE(std::isnan(double_to_float(std::numeric_limits<double>::quiet_NaN())));
  EXPECT_TRUE(std::signbit(double_to_float(-std::numeric_limits<double>::quiet_NaN())));
  EXPECT_EQ(double_to_float(0.1), 0.1f);
  Rng rng(3);
  for (int i = 0; i < 200'000; ++i) {
    const double d = std::ldexp(static_cast<double>(rng.next_u64() >> 11) / 9007199254740992.0, int(rng.below(300)) - 150);
    ASSERT_EQ(bits(double_to_float(d)), bits(static_cast<float>(d))) << d;
  }
}

// ---- the PyTorch fixture ------------------------------------------------------------------------

const std::string kFixture = std::string(RECURRENT_TEST_DATA) + "/io/dtypes.safetensors";

void expect_bits_equal(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const float* g = got.data();
  const float* w = want.data();
  for (int64_t i = 0; i < got.numel(); ++i) {
    if (std::isnan(w[i])) {
      EXPECT_TRUE(std::isnan(g[i])) << what << "[" << i << "]";
    } else {
      EXPECT_EQ(bits(g[i]), bits(w[i])) << what << "[" << i << "]: got " << g[i] << ", PyTorch " << w[i];
    }
  }
}

TEST(DTypeFixture, EveryDtypeReadAsPyTorchConvertsIt) {
  SafeTensors st = read_safetensors(kFixture);
  const std::pair<const char*, DType> expect[] = {{"f16", DType::F16}, {"bf16", DType::BF16}, {"f32", DType::F32},
                                                  {"f64", DType::F64}, {"i64", DType::I64},   {"i32", DType::I32},
                                                  {"scalar_f64", DType::F64}};
  for (const auto& [name, dt] : expect) {
    ASSERT_EQ(st.info(name).dtype, dt) << name;
    expect_bits_equal(st.get_f32(name), st.get_f32(std::string(name) + ".as_f32"), name);
  }
  EXPECT_EQ(st.info("f32").shape, (Shape{2, 3}));
  EXPECT_EQ(st.info("scalar_f64").shape, Shape{});
  EXPECT_EQ(st.get_f32("scalar_f64").item(), 2.5f);
  EXPECT_EQ(st.metadata_or("generator", ""), "scripts/fixtures/make_dtype_fixture.py");
  // Integers are also read exactly as int64.
  const std::vector<int64_t> i64 = st.get_i64("i64");
  EXPECT_EQ(i64.at(6), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(i64.at(7), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(st.get_i64("i32").at(3), std::numeric_limits<int32_t>::min());
}

TEST(DTypeFixture, FloatToHalfAndBf16AgreeWithPyTorch) {
  SafeTensors st = read_safetensors(kFixture);
  const Tensor src = st.get_f32("round.src");
  for (const auto& [name, conv] : {std::pair{"round.to_f16", &float_to_half}, std::pair{"round.to_bf16", &float_to_bf16}}) {
    std::span<const uint8_t> raw = st.raw(name);
    ASSERT_EQ(raw.size(), static_cast<size_t>(src.numel()) * 2);
    for (int64_t i = 0; i < src.numel(); ++i) {
      uint16_t want;
      std::memcpy(&want, raw.data() + 2 * i, 2);
      const float f = src.data()[i];
      if (std::isnan(f)) {
        // NaN payloads are not specified: PyTorch's vectorised bf16 path writes 0xFFFF, its scalar
        // path 0x7FC0. Both sides must be a NaN, nothing more.
        const bool f16 = std::string(name) == "round.to_f16";
        auto decode = [&](uint16_t h) { return f16 ? half_to_float(h) : bf16_to_float(h); };
        EXPECT_TRUE(std::isnan(decode(conv(f)))) << name << "[" << i << "]";
        EXPECT_TRUE(std::isnan(decode(want))) << name << "[" << i << "]";
      } else {
        EXPECT_EQ(conv(f), want) << name << "[" << i << "] of " << f;
      }
    }
  }
}

}  // namespace
