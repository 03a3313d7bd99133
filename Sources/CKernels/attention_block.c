/* Fused attention for many queries (the encoder's 1,500 frames): one 64-wide head, sixteen
   queries at a time, over all keys, without writing the nq × nk scores to memory. For each
   block of queries the scores (16 × nk, 96 kB for 1,500 keys: the core's L2), their softmax and
   the weighted values are computed in turn; the keys are packed once per head so that the
   scores kernel reads sixteen keys' values for one dimension as one vector, and the values
   into contiguous rows (a head's 64 values in rows a model's width apart fall into a few cache
   sets and would not stay in L2). Both products are register tiles of up to 6 query rows by
   four vectors (64 keys, or the head's 64 values): 24 accumulators, each broadcast operand
   used by four fused multiply-adds, as a GEMM micro-kernel does; and both go through the keys
   and values 64 at a time for all sixteen queries, so that each strip is read from L2 once. AVX-512 only (the engine multiplies
   through BLAS elsewhere). */
#include "exp_approx.h"
#include "kdq_kernels.h"

#include <math.h>

enum { block_rows = KDQ_ATTEND_BLOCK_ROWS, head_width = KDQ_ATTEND_HEAD_WIDTH, lanes = 16 };

size_t kdq_attend_packed_keys_floats(int nk) { return (size_t)((nk + lanes - 1) / lanes) * lanes * head_width; }

size_t kdq_attend_scratch_floats(int nk) { return (size_t)block_rows * ((nk + lanes - 1) / lanes) * lanes; }

void kdq_attend_pack_keys(const float *k, int nk, int stride, float *packed) {
    int panels = (nk + lanes - 1) / lanes;
    for (int p = 0; p < panels; p++) {
        float *panel = packed + (size_t)p * lanes * head_width;
        for (int j = 0; j < lanes; j++) {
            int key = p * lanes + j;
            for (int d = 0; d < head_width; d++) panel[d * lanes + j] = key < nk ? k[(size_t)key * stride + d] : 0;
        }
    }
}

void kdq_attend_pack_values(const float *v, int nk, int stride, float *packed) {
    for (int j = 0; j < nk; j++)
        for (int d = 0; d < head_width; d++) packed[(size_t)j * head_width + d] = v[(size_t)j * stride + d];
}

#if defined(__x86_64__) || defined(__i386__)

/* row[i] = exp(row[i] - max) for the first `count` values, 0 for the rest of `width` (a
   multiple of 16); returns 1 / their sum. The row is in cache, the sum in float (sixteen lanes
   of partial sums over at most a few hundred values each). */
AVX512 static float exponentials(float *row, int count, int width) {
    __m512 m16 = _mm512_set1_ps(-INFINITY);
    int i = 0;
    for (; i + lanes <= count; i += lanes) m16 = _mm512_max_ps(m16, _mm512_loadu_ps(row + i));
    __mmask16 tail = (__mmask16)((1u << (count - i)) - 1);
    m16 = _mm512_mask_max_ps(m16, tail, m16, _mm512_maskz_loadu_ps(tail, row + i));
    __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(m16)), sum = _mm512_setzero_ps();
    for (i = 0; i + lanes <= count; i += lanes) {
        __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(row + i), m));
        _mm512_storeu_ps(row + i, e);
        sum = _mm512_add_ps(sum, e);
    }
    if (i < width) {
        __m512 e = _mm512_maskz_mov_ps(tail, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, row + i), m)));
        _mm512_storeu_ps(row + i, e);
        sum = _mm512_add_ps(sum, e);
        for (i += lanes; i < width; i += lanes) _mm512_storeu_ps(row + i, _mm512_setzero_ps());
    }
    return 1 / _mm512_reduce_add_ps(sum);
}

#define KDQ_INLINE AVX512 static inline __attribute__((always_inline))

/* Scores of query rows [r0, r0 + R) (scaled, contiguous, 64 wide) against the keys of panels
   [p0, p0 + NP): R × NP accumulators, each broadcast query value used by NP fused
   multiply-adds (R <= 6, NP <= 4: 24 accumulators, 4 key vectors and a broadcast in the 32
   registers). */
KDQ_INLINE void score_tile(const float *queries, int r0, int R, const float *packed, int p0, int NP, float *scores, int width) {
    __m512 acc[6][4];
#pragma clang loop unroll(full)
    for (int r = 0; r < R; r++)
#pragma clang loop unroll(full)
        for (int i = 0; i < NP; i++) acc[r][i] = _mm512_setzero_ps();
    for (int d = 0; d < head_width; d++) {
        __m512 keys[4];
#pragma clang loop unroll(full)
        for (int i = 0; i < NP; i++) keys[i] = _mm512_loadu_ps(packed + ((size_t)(p0 + i) * head_width + d) * lanes);
#pragma clang loop unroll(full)
        for (int r = 0; r < R; r++) {
            __m512 b = _mm512_set1_ps(queries[(r0 + r) * head_width + d]);
#pragma clang loop unroll(full)
            for (int i = 0; i < NP; i++) acc[r][i] = _mm512_fmadd_ps(b, keys[i], acc[r][i]);
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < R; r++)
#pragma clang loop unroll(full)
        for (int i = 0; i < NP; i++) _mm512_storeu_ps(scores + (size_t)(r0 + r) * width + (p0 + i) * lanes, acc[r][i]);
}

/* The scores of all sixteen query rows (as 6 + 6 + 4), four panels at a time, then the rest:
   each strip of 64 keys (16 kB) is read from L2 once and used by the three row groups from L1. */
KDQ_INLINE void score_strip(const float *queries, const float *packed, int p, int NP, float *scores, int width) {
    score_tile(queries, 0, 6, packed, p, NP, scores, width);
    score_tile(queries, 6, 6, packed, p, NP, scores, width);
    score_tile(queries, 12, 4, packed, p, NP, scores, width);
}

/* sums rows [r0, r0 + R) (64 wide) += Σ_j e[r][j]·v_j over keys [j0, j0 + count) (the 64 values
   of key j contiguous): R × 4 accumulators, each broadcast weight used by four fused
   multiply-adds. */
KDQ_INLINE void value_tile(const float *scores, int width, int r0, int R, const float *values, int j0, int count, float *sums) {
    __m512 acc[6][4];
#pragma clang loop unroll(full)
    for (int r = 0; r < R; r++)
#pragma clang loop unroll(full)
        for (int i = 0; i < 4; i++) acc[r][i] = _mm512_loadu_ps(sums + (r0 + r) * head_width + i * lanes);
    for (int j = j0; j < j0 + count; j++) {
        __m512 value[4];
#pragma clang loop unroll(full)
        for (int i = 0; i < 4; i++) value[i] = _mm512_loadu_ps(values + (size_t)j * head_width + i * lanes);
#pragma clang loop unroll(full)
        for (int r = 0; r < R; r++) {
            __m512 b = _mm512_set1_ps(scores[(size_t)(r0 + r) * width + j]);
#pragma clang loop unroll(full)
            for (int i = 0; i < 4; i++) acc[r][i] = _mm512_fmadd_ps(b, value[i], acc[r][i]);
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < R; r++)
#pragma clang loop unroll(full)
        for (int i = 0; i < 4; i++) _mm512_storeu_ps(sums + (r0 + r) * head_width + i * lanes, acc[r][i]);
}

AVX512 static void attend_block_avx512(const float *q, int rows, const float *packed, const float *values, int nk, int stride, float scale,
                                       float *scores, float *out) {
    const int panels = (nk + lanes - 1) / lanes, width = panels * lanes;
    /* The block's queries, scaled, contiguous; rows past `rows` zero (their results unused). */
    float queries[block_rows * head_width] __attribute__((aligned(64)));
    for (int r = 0; r < block_rows; r++)
        for (int d = 0; d < head_width; d++) queries[r * head_width + d] = r < rows ? scale * q[(size_t)r * stride + d] : 0;
    int p = 0;
    for (; p + 4 <= panels; p += 4) score_strip(queries, packed, p, 4, scores, width);
    switch (panels - p) {
    case 3: score_strip(queries, packed, p, 3, scores, width); break;
    case 2: score_strip(queries, packed, p, 2, scores, width); break;
    case 1: score_strip(queries, packed, p, 1, scores, width); break;
    default: break;
    }
    /* Softmax without its division: exp(s - max) over the nk keys (the padding becomes 0). */
    float inverse[block_rows];
    for (int r = 0; r < block_rows; r++) inverse[r] = r < rows ? exponentials(scores + (size_t)r * width, nk, width) : 0;
    /* The weighted values, 64 keys (16 kB of values) at a time for all three row groups, the
       sums kept in L1 between strips. */
    float sums[block_rows * head_width] __attribute__((aligned(64)));
    for (int i = 0; i < block_rows * head_width; i++) sums[i] = 0;
    for (int j = 0; j < nk; j += 64) {
        int count = nk - j < 64 ? nk - j : 64;
        value_tile(scores, width, 0, 6, values, j, count, sums);
        value_tile(scores, width, 6, 6, values, j, count, sums);
        value_tile(scores, width, 12, 4, values, j, count, sums);
    }
    for (int r = 0; r < rows; r++) {
        __m512 f = _mm512_set1_ps(inverse[r]);
        for (int i = 0; i < head_width; i += lanes)
            _mm512_storeu_ps(out + (size_t)r * stride + i, _mm512_mul_ps(_mm512_loadu_ps(sums + r * head_width + i), f));
    }
}

int kdq_attend_block(const float *q, int rows, const float *packed_keys, const float *packed_values, int nk, int stride, float scale,
                     float *scores, float *out) {
    if (rows < 1 || rows > block_rows || nk < 1 || !kdq_attend_block_available()) return 0;
    attend_block_avx512(q, rows, packed_keys, packed_values, nk, stride, scale, scores, out);
    return 1;
}

int kdq_attend_block_available(void) { return kdq_kernels() == kdq_kernel_path(2); }

#else

int kdq_attend_block(const float *q, int rows, const float *packed_keys, const float *packed_values, int nk, int stride, float scale,
                     float *scores, float *out) {
    (void)q; (void)rows; (void)packed_keys; (void)packed_values; (void)nk; (void)stride; (void)scale; (void)scores; (void)out;
    return 0;
}
int kdq_attend_block_available(void) { return 0; }

#endif
