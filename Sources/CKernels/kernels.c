#include "kdq_kernels.h"
#include "exp_approx.h"
#include "half.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KDQ_X86 1
#define AVX2 __attribute__((target("avx2,fma,f16c")))
#endif

/* ---- CPU features ------------------------------------------------------------------------ */

int kdq_kernels_cpu_has_avx2(void) {
#ifdef KDQ_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
    return 0;
#endif
}

int kdq_kernels_cpu_has_avx512(void) {
#ifdef KDQ_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

/* ---- shared scalar pieces ---------------------------------------------------------------- */

static inline float exp_scalar(float x) {
    if (!(x >= exp_low)) return x != x ? x : 0.0f;
    if (x > exp_high) x = exp_high;
    float t = x * log2e + 0.5f;
    int whole = (int)t;  /* floor without a libm call (SSE2 has no rounding instruction) */
    whole -= (float)whole > t;
    float n = (float)whole;
    float r = x - n * ln2_hi - n * ln2_lo;
    float y = exp_c[0];
    for (int i = 1; i < 6; i++) y = y * r + exp_c[i];
    y = y * r * r + r + 1.0f;
    uint32_t bits = (uint32_t)(whole + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return y * scale;
}

/* 1 + erf(x/√2) through erfc of |x|/√2 (A&S 7.1.26), which keeps the negative side exact of
   cancellation. */
static const float erf_p = 0.3275911f;
static const float erf_a[5] = {0.254829592f, -0.284496736f, 1.421413741f, -1.453152027f, 1.061405429f};

static inline float gelu_scalar(float v) {
    float z = fabsf(v) * 0.70710678118654752f;
    float t = 1.0f / (1.0f + erf_p * z);
    float poly = erf_a[4];
    for (int i = 3; i >= 0; i--) poly = poly * t + erf_a[i];
    float q = poly * t * exp_scalar(-z * z);
    return 0.5f * v * (v < 0 ? q : 2.0f - q);
}

static inline float bf16_to_float(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

static inline uint16_t load_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t load_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* ggml's block layouts: the quantized value of element j (0..31) of a block. */
static inline int q4_value(const uint8_t *qs, int j) { return j < 16 ? (qs[j] & 0x0F) : (qs[j - 16] >> 4); }
static inline int q5_value(const uint8_t *qs, uint32_t qh, int j) { return q4_value(qs, j) | (int)(((qh >> j) & 1u) << 4); }

/* ---- portable path ----------------------------------------------------------------------- */

/* Four-lane vectors of the compiler's generic vector extension: SSE2 on baseline x86-64, NEON
   on ARM — the portable path's SIMD, where the compiler would not vectorize a float sum itself. */
typedef float f4 __attribute__((vector_size(16)));
static inline f4 load4(const float *p) { f4 v; memcpy(&v, p, 16); return v; }
static inline void store4(float *p, f4 v) { memcpy(p, &v, 16); }
static inline float sum4(f4 v) { return (v[0] + v[1]) + (v[2] + v[3]); }
typedef int32_t i4 __attribute__((vector_size(16)));
static inline f4 splat4(float a) { f4 v = {a, a, a, a}; return v; }
/* Lanes of `a` where `mask` (all ones or zeros per lane) is set, of `b` elsewhere. */
static inline f4 select4(i4 mask, f4 a, f4 b) { return (f4)(((i4)a & mask) | ((i4)b & ~mask)); }

/* exp_scalar on four lanes. */
static inline f4 exp4(f4 x) {
    i4 under = x < splat4(exp_low);
    x = select4(under, splat4(exp_low), x);
    x = select4(x > splat4(exp_high), splat4(exp_high), x);
    f4 t = x * splat4(log2e) + splat4(0.5f);
    i4 whole = __builtin_convertvector(t, i4);
    whole += __builtin_convertvector(whole, f4) > t;  /* a true comparison is -1: floor */
    f4 n = __builtin_convertvector(whole, f4);
    f4 r = x - n * splat4(ln2_hi) - n * splat4(ln2_lo);
    f4 y = splat4(exp_c[0]);
    for (int k = 1; k < 6; k++) y = y * r + splat4(exp_c[k]);
    y = y * r * r + r + splat4(1.0f);
    f4 scale = (f4)((whole + 127) << 23);
    return (f4)((i4)(y * scale) & ~under);
}

/* The scalar end of a softmax row: exp(row[i] - m) for i from `from` to `count` added to `sum`,
   the rest of `width` set to 0. */
static double softmax_exp_tail(float *row, int from, int count, int width, float m, double sum) {
    for (int i = from; i < count; i++) {
        float e = exp_scalar(row[i] - m);
        row[i] = e;
        sum += e;
    }
    for (int i = count; i < width; i++) row[i] = 0;
    return sum;
}

static double softmax_exp_portable(float *row, int count, int width) {
    float m = -INFINITY;
    for (int i = 0; i < count; i++) m = row[i] > m ? row[i] : m;
    double sum = 0;
    int i = 0;
    for (; i + 4 <= count; i += 4) {
        f4 e = exp4(load4(row + i) - splat4(m));
        store4(row + i, e);
        sum += (double)e[0] + (double)e[1] + (double)e[2] + (double)e[3];
    }
    return softmax_exp_tail(row, i, count, width, m, sum);
}

static void softmax_portable(float *row, int count, int width) {
    float inv = (float)(1.0 / softmax_exp_portable(row, count, width));
    for (int i = 0; i < count; i++) row[i] *= inv;
}

static void gelu_portable(float *x, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        f4 v = load4(x + i);
        i4 negative = v < splat4(0);
        f4 z = select4(negative, -v, v) * splat4(0.70710678118654752f);
        f4 t = splat4(1.0f) / (splat4(1.0f) + splat4(erf_p) * z);
        f4 poly = splat4(erf_a[4]);
        for (int k = 3; k >= 0; k--) poly = poly * t + splat4(erf_a[k]);
        f4 q = poly * t * exp4(-(z * z));
        store4(x + i, splat4(0.5f) * v * select4(negative, q, splat4(2.0f) - q));
    }
    for (; i < n; i++) x[i] = gelu_scalar(x[i]);
}

static float dot_portable(const float *a, const float *b, int n) {
    f4 acc0 = {0, 0, 0, 0}, acc1 = {0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        acc0 += load4(a + i) * load4(b + i);
        acc1 += load4(a + i + 4) * load4(b + i + 4);
    }
    float s = sum4(acc0 + acc1);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

static void attend_one_portable(const float *q, const float *k, const float *v, int valid, int stride, int dh, float scale,
                                float *scores, float *out) {
    for (int i = 0; i < valid; i++) scores[i] = scale * dot_portable(q, k + (size_t)i * stride, dh);
    softmax_portable(scores, valid, valid);
    for (int j = 0; j < dh; j++) out[j] = 0;
    for (int i = 0; i < valid; i++) {
        const float *vi = v + (size_t)i * stride;
        f4 p = {scores[i], scores[i], scores[i], scores[i]};
        int j = 0;
        for (; j + 4 <= dh; j += 4) store4(out + j, load4(out + j) + p * load4(vi + j));
        for (; j < dh; j++) out[j] += scores[i] * vi[j];
    }
}

/* Every f16 value as f32 (256 KiB), filled once: the portable path's conversion. */
static float f16_table[65536];
static pthread_once_t f16_table_once = PTHREAD_ONCE_INIT;
static void fill_f16_table(void) {
    for (uint32_t h = 0; h < 65536; h++) f16_table[h] = half_to_float((uint16_t)h);
}

static float dot_f16_portable(const uint16_t *w, const float *x, size_t n) {
    pthread_once(&f16_table_once, fill_f16_table);
    f4 acc0 = {0, 0, 0, 0}, acc1 = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        f4 w0 = {f16_table[w[i]], f16_table[w[i + 1]], f16_table[w[i + 2]], f16_table[w[i + 3]]};
        f4 w1 = {f16_table[w[i + 4]], f16_table[w[i + 5]], f16_table[w[i + 6]], f16_table[w[i + 7]]};
        acc0 += w0 * load4(x + i);
        acc1 += w1 * load4(x + i + 4);
    }
    float s = sum4(acc0 + acc1);
    for (; i < n; i++) s += f16_table[w[i]] * x[i];
    return s;
}

static float dot_bf16_portable(const uint16_t *w, const float *x, size_t n) {
    f4 acc = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        f4 wv = {bf16_to_float(w[i]), bf16_to_float(w[i + 1]), bf16_to_float(w[i + 2]), bf16_to_float(w[i + 3])};
        acc += wv * load4(x + i);
    }
    float s = sum4(acc);
    for (; i < n; i++) s += bf16_to_float(w[i]) * x[i];
    return s;
}

static void decode_f16_portable(const uint16_t *w, float *out, size_t n) {
    pthread_once(&f16_table_once, fill_f16_table);
    for (size_t i = 0; i < n; i++) out[i] = f16_table[w[i]];
}

static void decode_q8_0_portable(const void *w, float *out, size_t n) {
    const uint8_t *b = w;
    for (size_t k = 0; k < n / 32; k++, b += 34, out += 32) {
        float d = half_to_float(load_u16(b));
        for (int j = 0; j < 32; j++) out[j] = (float)(int8_t)b[2 + j] * d;
    }
}

/* Blocks of 32: `bytes` per block, scale d at 0, offset m at 2 (`has_min`), high bits at
   `qh_at` (or -1), nibbles or bytes at `qs_at`. */
static float dot_blocks_portable(const uint8_t *w, const float *x, size_t n, int bytes, int has_min, int qh_at, int qs_at,
                                 int bias, int eight_bit) {
    float total = 0;
    float q[32];
    for (size_t b = 0; b < n / 32; b++, w += bytes, x += 32) {
        const uint8_t *qs = w + qs_at;
        uint32_t qh = qh_at >= 0 ? load_u32(w + qh_at) : 0;
        for (int j = 0; j < 32; j++) {
            int value = eight_bit ? (int)(int8_t)qs[j] : (qh_at >= 0 ? q5_value(qs, qh, j) : q4_value(qs, j));
            q[j] = (float)(value - bias);
        }
        float qx = dot_portable(q, x, 32);
        float sx = 0;
        if (has_min) {
            f4 acc = load4(x) + load4(x + 4) + load4(x + 8) + load4(x + 12) + load4(x + 16) + load4(x + 20) + load4(x + 24) + load4(x + 28);
            sx = sum4(acc);
        }
        total += half_to_float(load_u16(w)) * qx + (has_min ? half_to_float(load_u16(w + 2)) * sx : 0);
    }
    return total;
}

/* ---- AVX2 + FMA + F16C path -------------------------------------------------------------- */

#ifdef KDQ_X86
AVX2 static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static inline __m256 exp8(__m256 x) {
    __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(exp_low), _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(exp_low)), _mm256_set1_ps(exp_high));
    __m256 n = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(log2e), _mm256_set1_ps(0.5f)));
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(ln2_hi), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(ln2_lo), r);
    __m256 y = _mm256_set1_ps(exp_c[0]);
    for (int i = 1; i < 6; i++) y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(exp_c[i]));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(under, _mm256_mul_ps(y, _mm256_castsi256_ps(e)));
}

AVX2 static double softmax_exp_avx2(float *row, int count, int width) {
    __m256 m8 = _mm256_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 8 <= count; i += 8) m8 = _mm256_max_ps(m8, _mm256_loadu_ps(row + i));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps(m8, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    float m = _mm_cvtss_f32(h);
    for (; i < count; i++) m = row[i] > m ? row[i] : m;
    __m256 mm = _mm256_set1_ps(m);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    for (i = 0; i + 8 <= count; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(row + i), mm));
        _mm256_storeu_ps(row + i, e);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    double lanes[4];
    _mm256_storeu_pd(lanes, _mm256_add_pd(s0, s1));
    double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    return softmax_exp_tail(row, i, count, width, m, sum);
}

AVX2 static void softmax_avx2(float *row, int count, int width) {
    float inv = (float)(1.0 / softmax_exp_avx2(row, count, width));
    __m256 inv8 = _mm256_set1_ps(inv);
    int i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(row + i, _mm256_mul_ps(_mm256_loadu_ps(row + i), inv8));
    for (; i < count; i++) row[i] *= inv;
}

AVX2 static void gelu_avx2(float *x, size_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f), two = _mm256_set1_ps(2.0f), one = _mm256_set1_ps(1.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 z = _mm256_mul_ps(_mm256_andnot_ps(sign, v), _mm256_set1_ps(0.70710678118654752f));
        __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(erf_p), z, one));
        __m256 poly = _mm256_set1_ps(erf_a[4]);
        for (int k = 3; k >= 0; k--) poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(erf_a[k]));
        __m256 q = _mm256_mul_ps(_mm256_mul_ps(poly, t), exp8(_mm256_xor_ps(_mm256_mul_ps(z, z), sign)));
        __m256 negative = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ);
        __m256 onePlusErf = _mm256_blendv_ps(_mm256_sub_ps(two, q), q, negative);
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), onePlusErf));
    }
    for (; i < n; i++) x[i] = gelu_scalar(x[i]);
}

/* dh a multiple of 8 (Whisper's heads are 64 wide); other widths take the portable path. */
AVX2 static void attend_one_avx2(const float *q, const float *k, const float *v, int valid, int stride, int dh, float scale,
                                 float *scores, float *out) {
    if (dh % 8 != 0 || dh > 256) { attend_one_portable(q, k, v, valid, stride, dh, scale, scores, out); return; }
    int lanes = dh / 8;
    __m256 qv[32];
    for (int g = 0; g < lanes; g++) qv[g] = _mm256_loadu_ps(q + 8 * g);
    for (int i = 0; i < valid; i++) {
        const float *ki = k + (size_t)i * stride;
        __m256 acc = _mm256_mul_ps(qv[0], _mm256_loadu_ps(ki));
        for (int g = 1; g < lanes; g++) acc = _mm256_fmadd_ps(qv[g], _mm256_loadu_ps(ki + 8 * g), acc);
        scores[i] = scale * hsum8(acc);
    }
    softmax_avx2(scores, valid, valid);
    __m256 ov[32];
    for (int g = 0; g < lanes; g++) ov[g] = _mm256_setzero_ps();
    for (int i = 0; i < valid; i++) {
        const float *vi = v + (size_t)i * stride;
        __m256 p = _mm256_set1_ps(scores[i]);
        for (int g = 0; g < lanes; g++) ov[g] = _mm256_fmadd_ps(p, _mm256_loadu_ps(vi + 8 * g), ov[g]);
    }
    for (int g = 0; g < lanes; g++) _mm256_storeu_ps(out + 8 * g, ov[g]);
}

AVX2 static float dot_f16_avx2(const uint16_t *w, const float *x, size_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i))), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 8))), _mm256_loadu_ps(x + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 16))), _mm256_loadu_ps(x + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 24))), _mm256_loadu_ps(x + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i))), _mm256_loadu_ps(x + i), a0);
    float s = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) s += half_to_float(w[i]) * x[i];
    return s;
}

AVX2 static float dot_bf16_avx2(const uint16_t *w, const float *x, size_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i lo = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(w + i))), 16);
        __m256i hi = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(w + i + 8))), 16);
        a0 = _mm256_fmadd_ps(_mm256_castsi256_ps(lo), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_castsi256_ps(hi), _mm256_loadu_ps(x + i + 8), a1);
    }
    float s = hsum8(_mm256_add_ps(a0, a1));
    for (; i < n; i++) s += bf16_to_float(w[i]) * x[i];
    return s;
}

AVX2 static inline float half_avx2(const uint8_t *p) { return _cvtsh_ss(load_u16(p)); }

AVX2 static float dot_q8_0_avx2(const void *blocks, const float *x, size_t n) {
    __m256 total = _mm256_setzero_ps();
    const uint8_t *w = blocks;
    for (size_t b = 0; b < n / 32; b++, w += 34, x += 32) {
        const uint8_t *qs = w + 2;
        __m256 acc = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)qs))), _mm256_loadu_ps(x));
        for (int g = 1; g < 4; g++) {
            __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(qs + 8 * g))));
            acc = _mm256_fmadd_ps(q, _mm256_loadu_ps(x + 8 * g), acc);
        }
        total = _mm256_fmadd_ps(_mm256_set1_ps(half_avx2(w)), acc, total);
    }
    return hsum8(total);
}

AVX2 static void decode_f16_avx2(const uint16_t *w, float *out, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i))));
    for (; i < n; i++) out[i] = half_to_float(w[i]);
}

AVX2 static void decode_q8_0_avx2(const void *w, float *out, size_t n) {
    const uint8_t *b = w;
    for (size_t k = 0; k < n / 32; k++, b += 34, out += 32) {
        __m256 d = _mm256_set1_ps(half_avx2(b));
        for (int g = 0; g < 4; g++) {
            __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(b + 2 + 8 * g))));
            _mm256_storeu_ps(out + 8 * g, _mm256_mul_ps(q, d));
        }
    }
}

/* The 8 quantized values of elements 8g ... 8g+7 of a 4- or 5-bit block, as floats (minus `bias`). */
AVX2 static inline __m256 nibbles8(const uint8_t *qs, uint32_t qh, int five, int g, __m256i bias) {
    __m256i q = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(qs + 8 * (g & 1))));
    if (g >= 2) q = _mm256_srli_epi32(q, 4);
    q = _mm256_and_si256(q, _mm256_set1_epi32(0x0F));
    if (five) {
        __m256i bits = _mm256_srlv_epi32(_mm256_set1_epi32((int)(qh >> (8 * g))), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        q = _mm256_or_si256(q, _mm256_slli_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(1)), 4));
    }
    return _mm256_cvtepi32_ps(_mm256_sub_epi32(q, bias));
}

AVX2 static float dot_blocks_avx2(const uint8_t *w, const float *x, size_t n, int bytes, int has_min, int qh_at, int qs_at, int bias) {
    __m256 total = _mm256_setzero_ps(), offsets = _mm256_setzero_ps();
    const __m256i bias8 = _mm256_set1_epi32(bias);
    for (size_t b = 0; b < n / 32; b++, w += bytes, x += 32) {
        const uint8_t *qs = w + qs_at;
        uint32_t qh = qh_at >= 0 ? load_u32(w + qh_at) : 0;
        __m256 acc = _mm256_setzero_ps(), sx = _mm256_setzero_ps();
        for (int g = 0; g < 4; g++) {
            __m256 xv = _mm256_loadu_ps(x + 8 * g);
            acc = _mm256_fmadd_ps(nibbles8(qs, qh, qh_at >= 0, g, bias8), xv, acc);
            if (has_min) sx = _mm256_add_ps(sx, xv);
        }
        total = _mm256_fmadd_ps(_mm256_set1_ps(half_avx2(w)), acc, total);
        if (has_min) offsets = _mm256_fmadd_ps(_mm256_set1_ps(half_avx2(w + 2)), sx, offsets);
    }
    return hsum8(_mm256_add_ps(total, offsets));
}
#endif

/* ---- AVX-512 path: the hot loops of the AVX2 path sixteen lanes wide ----------------------- */

#ifdef KDQ_X86

AVX512 static double softmax_exp_avx512(float *row, int count, int width) {
    __m512 m16 = _mm512_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 16 <= count; i += 16) m16 = _mm512_max_ps(m16, _mm512_loadu_ps(row + i));
    float m = _mm512_reduce_max_ps(m16);
    for (; i < count; i++) m = row[i] > m ? row[i] : m;
    __m512 mm = _mm512_set1_ps(m);
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    for (i = 0; i + 16 <= count; i += 16) {
        __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(row + i), mm));
        _mm512_storeu_ps(row + i, e);
        s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm512_extractf32x8_ps(e, 1)));
    }
    return softmax_exp_tail(row, i, count, width, m, _mm512_reduce_add_pd(_mm512_add_pd(s0, s1)));
}

AVX512 static void softmax_avx512(float *row, int count, int width) {
    float inv = (float)(1.0 / softmax_exp_avx512(row, count, width));
    __m512 inv16 = _mm512_set1_ps(inv);
    int i = 0;
    for (; i + 16 <= count; i += 16) _mm512_storeu_ps(row + i, _mm512_mul_ps(_mm512_loadu_ps(row + i), inv16));
    for (; i < count; i++) row[i] *= inv;
}

AVX512 static void gelu_avx512(float *x, size_t n) {
    const __m512 two = _mm512_set1_ps(2.0f), one = _mm512_set1_ps(1.0f);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        __m512 z = _mm512_mul_ps(_mm512_abs_ps(v), _mm512_set1_ps(0.70710678118654752f));
        __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(_mm512_set1_ps(erf_p), z, one));
        __m512 poly = _mm512_set1_ps(erf_a[4]);
        for (int k = 3; k >= 0; k--) poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(erf_a[k]));
        __m512 q = _mm512_mul_ps(_mm512_mul_ps(poly, t), exp16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(z, z))));
        __mmask16 negative = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
        __m512 onePlusErf = _mm512_mask_blend_ps(negative, _mm512_sub_ps(two, q), q);
        _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), onePlusErf));
    }
    gelu_avx2(x + i, n - i);
}

/* dh a multiple of 16 (Whisper's heads are 64 wide); other widths take the AVX2 path. */
AVX512 static void attend_one_avx512(const float *q, const float *k, const float *v, int valid, int stride, int dh, float scale,
                                     float *scores, float *out) {
    if (dh % 16 != 0 || dh > 256) { attend_one_avx2(q, k, v, valid, stride, dh, scale, scores, out); return; }
    int lanes = dh / 16;
    __m512 qv[16];
    for (int g = 0; g < lanes; g++) qv[g] = _mm512_loadu_ps(q + 16 * g);
    for (int i = 0; i < valid; i++) {
        const float *ki = k + (size_t)i * stride;
        __m512 acc = _mm512_mul_ps(qv[0], _mm512_loadu_ps(ki));
        for (int g = 1; g < lanes; g++) acc = _mm512_fmadd_ps(qv[g], _mm512_loadu_ps(ki + 16 * g), acc);
        scores[i] = scale * _mm512_reduce_add_ps(acc);
    }
    softmax_avx512(scores, valid, valid);
    __m512 ov[16];
    for (int g = 0; g < lanes; g++) ov[g] = _mm512_setzero_ps();
    for (int i = 0; i < valid; i++) {
        const float *vi = v + (size_t)i * stride;
        __m512 p = _mm512_set1_ps(scores[i]);
        for (int g = 0; g < lanes; g++) ov[g] = _mm512_fmadd_ps(p, _mm512_loadu_ps(vi + 16 * g), ov[g]);
    }
    for (int g = 0; g < lanes; g++) _mm512_storeu_ps(out + 16 * g, ov[g]);
}

AVX512 static float dot_f16_avx512(const uint16_t *w, const float *x, size_t n) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i))), _mm512_loadu_ps(x + i), a0);
        a1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i + 16))), _mm512_loadu_ps(x + i + 16), a1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1)) + dot_f16_avx2(w + i, x + i, n - i);
}

AVX512 static float dot_q8_0_avx512(const void *blocks, const float *x, size_t n) {
    __m512 total = _mm512_setzero_ps();
    const uint8_t *w = blocks;
    for (size_t b = 0; b < n / 32; b++, w += 34, x += 32) {
        const uint8_t *qs = w + 2;
        __m512 lo = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)qs)));
        __m512 hi = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(qs + 16))));
        __m512 acc = _mm512_fmadd_ps(hi, _mm512_loadu_ps(x + 16), _mm512_mul_ps(lo, _mm512_loadu_ps(x)));
        total = _mm512_fmadd_ps(_mm512_set1_ps(half_avx2(w)), acc, total);
    }
    return _mm512_reduce_add_ps(total);
}
#endif

/* ---- the three tables and the dispatch ----------------------------------------------------- */

static float dot_q8_0_portable(const void *w, const float *x, size_t n) { return dot_blocks_portable(w, x, n, 34, 0, -1, 2, 0, 1); }
static float dot_q5_1_portable(const void *w, const float *x, size_t n) { return dot_blocks_portable(w, x, n, 24, 1, 4, 8, 0, 0); }
static float dot_q5_0_portable(const void *w, const float *x, size_t n) { return dot_blocks_portable(w, x, n, 22, 0, 2, 6, 16, 0); }
static float dot_q4_1_portable(const void *w, const float *x, size_t n) { return dot_blocks_portable(w, x, n, 20, 1, -1, 4, 0, 0); }
static float dot_q4_0_portable(const void *w, const float *x, size_t n) { return dot_blocks_portable(w, x, n, 18, 0, -1, 2, 8, 0); }

static const kdq_kernel_table portable = {
    "portable", softmax_portable, softmax_exp_portable, gelu_portable, attend_one_portable, dot_f16_portable, dot_bf16_portable, dot_q8_0_portable,
    dot_q5_1_portable, dot_q5_0_portable, dot_q4_1_portable, dot_q4_0_portable, decode_f16_portable, decode_q8_0_portable,
};

#ifdef KDQ_X86
static float dot_q5_1_avx2(const void *w, const float *x, size_t n) { return dot_blocks_avx2(w, x, n, 24, 1, 4, 8, 0); }
static float dot_q5_0_avx2(const void *w, const float *x, size_t n) { return dot_blocks_avx2(w, x, n, 22, 0, 2, 6, 16); }
static float dot_q4_1_avx2(const void *w, const float *x, size_t n) { return dot_blocks_avx2(w, x, n, 20, 1, -1, 4, 0); }
static float dot_q4_0_avx2(const void *w, const float *x, size_t n) { return dot_blocks_avx2(w, x, n, 18, 0, -1, 2, 8); }

static const kdq_kernel_table avx2 = {
    "avx2", softmax_avx2, softmax_exp_avx2, gelu_avx2, attend_one_avx2, dot_f16_avx2, dot_bf16_avx2, dot_q8_0_avx2,
    dot_q5_1_avx2, dot_q5_0_avx2, dot_q4_1_avx2, dot_q4_0_avx2, decode_f16_avx2, decode_q8_0_avx2,
};
#endif

#ifdef KDQ_X86
static const kdq_kernel_table avx512 = {
    "avx512", softmax_avx512, softmax_exp_avx512, gelu_avx512, attend_one_avx512, dot_f16_avx512, dot_bf16_avx2, dot_q8_0_avx512,
    dot_q5_1_avx2, dot_q5_0_avx2, dot_q4_1_avx2, dot_q4_0_avx2, decode_f16_avx2, decode_q8_0_avx2,
};
#endif

const kdq_kernel_table *kdq_kernel_path(int level) {
    if (level == 0) return &portable;
#ifdef KDQ_X86
    if (level == 1 && kdq_kernels_cpu_has_avx2()) return &avx2;
    if (level == 2 && kdq_kernels_cpu_has_avx2() && kdq_kernels_cpu_has_avx512()) return &avx512;
#endif
    return NULL;
}

static _Atomic(const kdq_kernel_table *) chosen = NULL;

const kdq_kernel_table *kdq_kernels(void) {
    const kdq_kernel_table *t = atomic_load_explicit(&chosen, memory_order_acquire);
    if (!t) {
        const char *forced = getenv("KDQ_PORTABLE_KERNELS");
        if (forced && strcmp(forced, "0") != 0) t = &portable;
        else if (!(t = kdq_kernel_path(2)) && !(t = kdq_kernel_path(1))) t = &portable;
        atomic_store_explicit(&chosen, t, memory_order_release);
    }
    return t;
}

void kdq_softmax(float *row, int count, int width) { kdq_kernels()->softmax(row, count, width); }
double kdq_softmax_exp(float *row, int count, int width) { return kdq_kernels()->softmax_exp(row, count, width); }
void kdq_gelu(float *x, size_t n) { kdq_kernels()->gelu(x, n); }
void kdq_attend_one(const float *q, const float *k, const float *v, int valid, int stride, int dh, float scale, float *scores, float *out) {
    kdq_kernels()->attend_one(q, k, v, valid, stride, dh, scale, scores, out);
}
void kdq_decode_f16(const uint16_t *w, float *out, size_t n) { kdq_kernels()->decode_f16(w, out, n); }
void kdq_decode_q8_0(const void *w, float *out, size_t n) { kdq_kernels()->decode_q8_0(w, out, n); }
