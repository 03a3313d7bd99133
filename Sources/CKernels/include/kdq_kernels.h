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

/* Fused attention of many queries over one 64-wide head (attention_block.c), for the
   encoder: no nq × nk score matrix in memory. The keys and values of a head are packed once
   (kdq_attend_pack_keys: `nk` rows `stride` floats apart into kdq_attend_packed_keys_floats(nk)
   floats; kdq_attend_pack_values: into nk × KDQ_ATTEND_HEAD_WIDTH floats); then each block of
   up to KDQ_ATTEND_BLOCK_ROWS queries
   gives out[r] = Σ_i softmax_i(scale·q_r·k_i)·v_i (q and out rows `stride` floats apart), using `scores` (kdq_attend_scratch_floats(nk)
   floats) as its work space. AVX-512 only: kdq_attend_block returns 0 and computes nothing
   when the kernels in use (kdq_kernels) are not the AVX-512 path, or rows is not 1 to
   KDQ_ATTEND_BLOCK_ROWS. */
#define KDQ_ATTEND_HEAD_WIDTH 64
#define KDQ_ATTEND_BLOCK_ROWS 16
size_t kdq_attend_packed_keys_floats(int nk);
size_t kdq_attend_scratch_floats(int nk);
void kdq_attend_pack_keys(const float *k, int nk, int stride, float *packed);
void kdq_attend_pack_values(const float *v, int nk, int stride, float *packed);
int kdq_attend_block(const float *q, int rows, const float *packed_keys, const float *packed_values, int nk, int stride, float scale,
                     float *scores, float *out);
/* Whether kdq_attend_block computes (the AVX-512 path is the one in use). */
int kdq_attend_block_available(void);
/* Rows decoded to f32 for the GEMM tiles: `n` f16 values, or `n` values (a multiple of 32) of
   q8_0 blocks; the same values KDQTensor's decoders give. */
void kdq_decode_f16(const uint16_t *w, float *out, size_t n);
void kdq_decode_q8_0(const void *w, float *out, size_t n);
/* `n` values (a multiple of 256) of ggml's k-quant super-blocks decoded to f32, bit for bit as
   KDQTensor's decoders (kquant_decode.c; plain C, the same on every path). */
void kdq_decode_q2_K(const void *w, float *out, size_t n);
void kdq_decode_q3_K(const void *w, float *out, size_t n);
void kdq_decode_q4_K(const void *w, float *out, size_t n);
void kdq_decode_q5_K(const void *w, float *out, size_t n);
void kdq_decode_q6_K(const void *w, float *out, size_t n);

/* Integer products of q8_0 weights (ggml's blocks: 32 int8 values and an f16 scale) with
   activations quantized the same way, for matrix-matrix work on CPUs with AVX-512 VNNI
   (q8_gemm.c). Y[i, j] = Σ_b dw[j,b]·dx[i,b]·Σ_k w[j,k]·q[i,k] (+ bias[j]): what whisper.cpp's
   q8_0 × q8_0 products compute. `columns` is a multiple of 32 throughout. */

/* Whether the CPU has AVX-512 F, BW, VL and VNNI: what kdq_q8_0_gemm needs on x86. */
int kdq_kernels_cpu_has_avx512_vnni(void);
/* Bytes of `rows` weight rows packed for kdq_q8_0_gemm: panels of 16 rows (the last one padded
   with zeros), each 32-column block of a panel its 16 rows' values interleaved in groups of 4,
   their 16 scales as f32 and 128 × the sum of each row's values. */
size_t kdq_q8_0_packed_bytes(int rows, int columns);
/* Packs panels [panel_first, panel_end) of the q8_0 rows `blocks` (`rows` × `columns`) into
   `packed` (kdq_q8_0_packed_bytes of the whole matrix; panel p at its own offset). */
void kdq_q8_0_pack(const void *blocks, int rows, int columns, int panel_first, int panel_end, void *packed);
/* Bytes of one quantized activation row: its values as u8 (q + 128), then one f32 scale per block. */
size_t kdq_q8_activation_row_bytes(int columns);
/* Quantizes `m` rows of `columns` f32 values to q8_0 blocks (scale max|x|/127, values rounded
   half away from zero), one kdq_q8_activation_row_bytes record per row (AVX-512 where the
   CPU has VNNI, bit for bit the portable loops' output). */
void kdq_q8_quantize_rows(const float *x, int m, int columns, void *out);
void kdq_q8_quantize_rows_portable(const float *x, int m, int columns, void *out);
/* Columns [16·panel_first, 16·panel_end) ∩ [0, rows) of Y (`m` × `rows`, row-major) from the
   quantized rows `xq` and the packed weight: AVX-512 VNNI on x86 (the CPU must have it), the
   portable loops elsewhere. */
void kdq_q8_0_gemm(const void *xq, int m, int columns, const void *packed, int rows, int panel_first, int panel_end,
                   const float *bias, float *y);
/* The same product in plain C: the reference the VNNI kernel is tested against. */
void kdq_q8_0_gemm_portable(const void *xq, int m, int columns, const void *packed, int rows, int panel_first, int panel_end,
                            const float *bias, float *y);

#endif
