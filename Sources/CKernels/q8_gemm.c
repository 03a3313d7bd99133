#include "kdq_kernels.h"
#include "half.h"

#include <stdlib.h>
#include <string.h>

/* Products of q8_0 weights with activations quantized the same way (32 values, one scale),
   on AVX-512 VNNI: vpdpbusd multiplies 64 unsigned bytes by 64 signed bytes and adds each four
   products into an int32 lane, four times the multiply-adds of an f32 FMA. The activations are
   stored as u = q + 128 (unsigned), so Σ u·w = Σ q·w + 128·Σ w, and the weight panels carry
   128·Σ w per block to subtract. Each block's integer sum becomes f32 and is scaled by the two
   blocks' scales, as whisper.cpp's q8_0 × q8_0 dot does. */

#define PANEL_ROWS 16
#define PANEL_BLOCK_BYTES (8 * 64 + 16 * 4 + 16 * 4)

size_t kdq_q8_0_packed_bytes(int rows, int columns) {
    return (size_t)((rows + PANEL_ROWS - 1) / PANEL_ROWS) * (size_t)(columns / 32) * PANEL_BLOCK_BYTES;
}

void kdq_q8_0_pack(const void *blocks, int rows, int columns, int panel_first, int panel_end, void *packed) {
    const int kb = columns / 32;
    const uint8_t *w = blocks;
    for (int p = panel_first; p < panel_end; p++) {
        for (int b = 0; b < kb; b++) {
            uint8_t *out = (uint8_t *)packed + ((size_t)p * kb + b) * PANEL_BLOCK_BYTES;
            float scales[PANEL_ROWS];
            int32_t sums[PANEL_ROWS];
            for (int r = 0; r < PANEL_ROWS; r++) {
                int row = p * PANEL_ROWS + r;
                if (row >= rows) {
                    for (int g = 0; g < 8; g++) memset(out + 64 * g + 4 * r, 0, 4);
                    scales[r] = 0;
                    sums[r] = 0;
                    continue;
                }
                const uint8_t *block = w + ((size_t)row * kb + b) * 34;
                uint16_t d;
                memcpy(&d, block, 2);
                scales[r] = half_to_float(d);
                int32_t sum = 0;
                for (int j = 0; j < 32; j++) sum += (int8_t)block[2 + j];
                sums[r] = 128 * sum;
                for (int g = 0; g < 8; g++) memcpy(out + 64 * g + 4 * r, block + 2 + 4 * g, 4);
            }
            memcpy(out + 512, scales, sizeof scales);
            memcpy(out + 576, sums, sizeof sums);
        }
    }
}

size_t kdq_q8_activation_row_bytes(int columns) { return (size_t)columns + 4 * (size_t)(columns / 32); }

void kdq_q8_quantize_rows_portable(const float *x, int m, int columns, void *out) {
    const int kb = columns / 32;
    for (int i = 0; i < m; i++) {
        const float *row = x + (size_t)i * columns;
        uint8_t *q = (uint8_t *)out + (size_t)i * kdq_q8_activation_row_bytes(columns);
        float *scales = (float *)(q + columns);
        for (int b = 0; b < kb; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) {
                float a = row[32 * b + j] < 0 ? -row[32 * b + j] : row[32 * b + j];
                amax = a > amax ? a : amax;
            }
            float d = amax / 127, id = d > 0 ? 1 / d : 0;
            for (int j = 0; j < 32; j++) {
                float v = row[32 * b + j] * id;
                int n = (int)(v < 0 ? v - 0.5f : v + 0.5f);
                n = n > 127 ? 127 : n < -127 ? -127 : n;
                q[32 * b + j] = (uint8_t)(n + 128);
            }
            memcpy(scales + b, &d, 4);
        }
    }
}

void kdq_q8_0_gemm_portable(const void *xq, int m, int columns, const void *packed, int rows, int panel_first, int panel_end,
                            const float *bias, float *y) {
    const int kb = columns / 32;
    const size_t xstride = kdq_q8_activation_row_bytes(columns);
    for (int p = panel_first; p < panel_end; p++) {
        for (int r = 0; r < PANEL_ROWS && p * PANEL_ROWS + r < rows; r++) {
            const int j = p * PANEL_ROWS + r;
            for (int i = 0; i < m; i++) {
                const uint8_t *x = (const uint8_t *)xq + (size_t)i * xstride;
                float total = 0;
                for (int b = 0; b < kb; b++) {
                    const uint8_t *block = (const uint8_t *)packed + ((size_t)p * kb + b) * PANEL_BLOCK_BYTES;
                    int32_t sum = 0, correction;
                    for (int g = 0; g < 8; g++)
                        for (int t = 0; t < 4; t++) sum += (int32_t)x[32 * b + 4 * g + t] * (int8_t)block[64 * g + 4 * r + t];
                    float dw, dx;
                    memcpy(&dw, block + 512 + 4 * r, 4);
                    memcpy(&correction, block + 576 + 4 * r, 4);
                    memcpy(&dx, x + (size_t)kb * 32 + 4 * b, 4);
                    total += (float)(sum - correction) * (dw * dx);
                }
                y[(size_t)i * rows + j] = total + (bias ? bias[j] : 0);
            }
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

int kdq_kernels_cpu_has_avx512_vnni(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512vnni");
}

/* The same rounding as kdq_q8_quantize_rows_portable, sixteen lanes at a time (bit for bit its output). */
VNNI static void quantize_rows_avx512(const float *x, int m, int columns, void *out) {
    const int kb = columns / 32;
    const __m512 half = _mm512_set1_ps(0.5f);
    for (int i = 0; i < m; i++) {
        const float *row = x + (size_t)i * columns;
        uint8_t *q = (uint8_t *)out + (size_t)i * kdq_q8_activation_row_bytes(columns);
        float *scales = (float *)(q + columns);
        for (int b = 0; b < kb; b++) {
            __m512 v0 = _mm512_loadu_ps(row + 32 * b), v1 = _mm512_loadu_ps(row + 32 * b + 16);
            float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
            float d = amax / 127, id = d > 0 ? 1 / d : 0;
            __m512 scale = _mm512_set1_ps(id);
            for (int h = 0; h < 2; h++) {
                __m512 v = _mm512_mul_ps(h ? v1 : v0, scale);
                __m512i n = _mm512_cvttps_epi32(_mm512_add_ps(_mm512_abs_ps(v), half));
                n = _mm512_mask_sub_epi32(n, _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ), _mm512_setzero_si512(), n);
                n = _mm512_min_epi32(_mm512_max_epi32(n, _mm512_set1_epi32(-127)), _mm512_set1_epi32(127));
                _mm_storeu_si128((__m128i *)(q + 32 * b + 16 * h), _mm512_cvtepi32_epi8(_mm512_add_epi32(n, _mm512_set1_epi32(128))));
            }
            memcpy(scales + b, &d, 4);
        }
    }
}

/* Rows i0 … i0+mr−1 of X (mr ≤ 4) times np (1 or 2) panels starting at `panel`: 16·np columns
   of Y from column j0, of which `valid` exist. */
VNNI static inline __attribute__((always_inline)) void tile(const uint8_t *xq, size_t xstride, int kb, const uint8_t *panel,
                                                            const int mr, const int np, float *y, size_t ldy, const float *bias, int valid) {
    __m512 acc[4][2];
    for (int i = 0; i < 4; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    const size_t panelBytes = (size_t)kb * PANEL_BLOCK_BYTES;
    for (int b = 0; b < kb; b++) {
        const uint8_t *w0 = panel + (size_t)b * PANEL_BLOCK_BYTES, *w1 = w0 + panelBytes;
        __m512i s[4][2];
        for (int i = 0; i < 4; i++) s[i][0] = s[i][1] = _mm512_setzero_si512();
        for (int g = 0; g < 8; g++) {
            __m512i a = _mm512_loadu_si512(w0 + 64 * g), c = np > 1 ? _mm512_loadu_si512(w1 + 64 * g) : _mm512_setzero_si512();
            for (int i = 0; i < mr; i++) {
                int32_t four;
                memcpy(&four, xq + i * xstride + 32 * b + 4 * g, 4);
                __m512i xb = _mm512_set1_epi32(four);
                s[i][0] = _mm512_dpbusd_epi32(s[i][0], xb, a);
                if (np > 1) s[i][1] = _mm512_dpbusd_epi32(s[i][1], xb, c);
            }
        }
        __m512 d0 = _mm512_loadu_ps(w0 + 512), d1 = np > 1 ? _mm512_loadu_ps(w1 + 512) : d0;
        __m512i c0 = _mm512_loadu_si512(w0 + 576), c1 = np > 1 ? _mm512_loadu_si512(w1 + 576) : c0;
        for (int i = 0; i < mr; i++) {
            float ds;
            memcpy(&ds, xq + i * xstride + (size_t)kb * 32 + 4 * b, 4);
            __m512 xs = _mm512_set1_ps(ds);
            acc[i][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(s[i][0], c0)), _mm512_mul_ps(d0, xs), acc[i][0]);
            if (np > 1) acc[i][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(s[i][1], c1)), _mm512_mul_ps(d1, xs), acc[i][1]);
        }
    }
    for (int c = 0; c < np; c++) {
        int n = valid - 16 * c;
        if (n <= 0) break;
        __mmask16 mask = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
        __m512 add = bias ? _mm512_maskz_loadu_ps(mask, bias + 16 * c) : _mm512_setzero_ps();
        for (int i = 0; i < mr; i++) _mm512_mask_storeu_ps(y + i * ldy + 16 * c, mask, _mm512_add_ps(acc[i][c], add));
    }
}

VNNI void kdq_q8_0_gemm(const void *xq, int m, int columns, const void *packed, int rows, int panel_first, int panel_end,
                        const float *bias, float *y) {
    const int kb = columns / 32;
    const size_t xstride = kdq_q8_activation_row_bytes(columns), panelBytes = (size_t)kb * PANEL_BLOCK_BYTES;
    for (int p = panel_first; p < panel_end; p += 2) {
        const int np = p + 1 < panel_end ? 2 : 1, j0 = p * PANEL_ROWS;
        const int valid = rows - j0 < 16 * np ? rows - j0 : 16 * np;
        const uint8_t *panel = (const uint8_t *)packed + (size_t)p * panelBytes;
        const float *b = bias ? bias + j0 : NULL;
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            const uint8_t *x = (const uint8_t *)xq + (size_t)i * xstride;
            if (np == 2) tile(x, xstride, kb, panel, 4, 2, y + (size_t)i * rows + j0, (size_t)rows, b, valid);
            else tile(x, xstride, kb, panel, 4, 1, y + (size_t)i * rows + j0, (size_t)rows, b, valid);
        }
        for (; i < m; i++) {
            const uint8_t *x = (const uint8_t *)xq + (size_t)i * xstride;
            if (np == 2) tile(x, xstride, kb, panel, 1, 2, y + (size_t)i * rows + j0, (size_t)rows, b, valid);
            else tile(x, xstride, kb, panel, 1, 1, y + (size_t)i * rows + j0, (size_t)rows, b, valid);
        }
    }
}
void kdq_q8_quantize_rows(const float *x, int m, int columns, void *out) {
    if (kdq_kernels_cpu_has_avx512_vnni()) quantize_rows_avx512(x, m, columns, out);
    else kdq_q8_quantize_rows_portable(x, m, columns, out);
}
#else
int kdq_kernels_cpu_has_avx512_vnni(void) { return 0; }

void kdq_q8_quantize_rows(const float *x, int m, int columns, void *out) { kdq_q8_quantize_rows_portable(x, m, columns, out); }

void kdq_q8_0_gemm(const void *xq, int m, int columns, const void *packed, int rows, int panel_first, int panel_end,
                   const float *bias, float *y) {
    kdq_q8_0_gemm_portable(xq, m, columns, packed, rows, panel_first, panel_end, bias, y);
}
#endif
