#ifndef KDQ_KERNELS_H
#define KDQ_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* kdq's hot inner loops with a run-time choice of instruction set: an AVX-512 path where the
   CPU has AVX-512 F/CD/BW/DQ/VL as well as AVX2 + FMA + F16C, an AVX2 path where it has those
   three, a portable C path everywhere else. The paths compute the same functions with the same
   polynomial approximations; they differ only in rounding order. */

/* One path's kernels (the functions below, without the dispatch). */
typedef struct {
    const char *name;
    void (*softmax)(float *row, int count, int width);
    double (*softmax_exp)(float *row, int count, int width);
    void (*gelu)(float *x, size_t n);
    void (*attend_one)(const float *q, const float *k, const float *v, int valid, int stride, int dh, float scale, float *scores, float *out);
    /* Dot products of one stored row of `n` weights with `n` f32 activations, decoding the
       weights as they are read: f16, bf16, and ggml's q8_0, q5_1, q5_0, q4_1, q4_0 blocks (n a
       multiple of 32 for the blocks). */
    float (*dot_f16)(const uint16_t *w, const float *x, size_t n);
    float (*dot_bf16)(const uint16_t *w, const float *x, size_t n);
    float (*dot_q8_0)(const void *w, const float *x, size_t n);
    float (*dot_q5_1)(const void *w, const float *x, size_t n);
    float (*dot_q5_0)(const void *w, const float *x, size_t n);
    float (*dot_q4_1)(const void *w, const float *x, size_t n);
    float (*dot_q4_0)(const void *w, const float *x, size_t n);
    void (*decode_f16)(const uint16_t *w, float *out, size_t n);
    void (*decode_q8_0)(const void *w, float *out, size_t n);
} kdq_kernel_table;

/* Whether the CPU has AVX2, FMA and F16C. */
int kdq_kernels_cpu_has_avx2(void);
/* Whether the CPU (and the operating system) has AVX-512 F, CD, BW, DQ and VL: what OpenBLAS's
   SkylakeX kernels use. */
int kdq_kernels_cpu_has_avx512(void);
/* A path's table: level 0 the portable one, 1 AVX2 + FMA + F16C, 2 AVX-512 (its hot loops —
   softmax, GELU, attention, the f16 and q8_0 products — sixteen lanes wide, the rest as AVX2);
   NULL where the CPU or the build lacks the level. */
const kdq_kernel_table *kdq_kernel_path(int level);
/* The table the functions below (and the engine's row products) use: the widest level the CPU
   has, unless the environment variable KDQ_PORTABLE_KERNELS is set to anything but "0" when it
   is first asked for. */
const kdq_kernel_table *kdq_kernels(void);

/* Softmax of the first `count` values of `row` in place (the sum in double), the rest of
   `width` set to 0. exp is a degree-6 polynomial after range reduction (about 1 ulp). */
void kdq_softmax(float *row, int count, int width);
/* Softmax without its last pass: row[i] = exp(row[i] - max) for the first `count` values, the
   rest of `width` set to 0; returns their sum (in double). A caller that multiplies the row by
   a matrix next can divide the (narrower) product by the sum instead. */
double kdq_softmax_exp(float *row, int count, int width);
/* GELU with erf (Abramowitz and Stegun 7.1.26, |error| <= 1.5e-7), in place over `n` values. */
void kdq_gelu(float *x, size_t n);

/* One head of one query's attention (a decoding step): scores[i] = scale·q·k_i for the `valid`
   keys (rows `stride` floats apart, `dh` values each), their softmax, and out = Σ scores[i]·v_i. */
void kdq_attend_one(const float *q, const float *k, const float *v, int valid, int stride, int dh, float scale, float *scores, float *out);

/* Rows decoded to f32 for the GEMM tiles: `n` f16 values, or `n` values (a multiple of 32) of
   q8_0 blocks; the same values KDQTensor's decoders give. */
void kdq_decode_f16(const uint16_t *w, float *out, size_t n);
void kdq_decode_q8_0(const void *w, float *out, size_t n);

#endif
