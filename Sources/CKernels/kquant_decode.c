/* ggml's k-quant super-blocks (256 values) decoded to f32 for the engine's GEMM tiles and
   row products: the same arithmetic, in the same order, as KDQTensor's KQuantCodecs, so the
   values are bit for bit the same (no fused multiply-adds: contraction is off). */
#include "kdq_kernels.h"
#include "half.h"

#pragma clang fp contract(off)

static inline float half_at(const uint8_t *b, int offset) {
    uint16_t h;
    memcpy(&h, b + offset, 2);
    return half_to_float(h);
}

void kdq_decode_q2_K(const void *w, float *out, size_t n) {
    const uint8_t *b = w;
    for (size_t s = 0; s < n / 256; s++, b += 84, out += 256) {
        float d = half_at(b, 80), dmin = half_at(b, 82);
        for (int half = 0; half < 2; half++) {
            const uint8_t *q = b + 16 + 32 * half;
            for (int plane = 0; plane < 4; plane++) {
                for (int part = 0; part < 2; part++) {
                    int k = 8 * half + 2 * plane + part;
                    float dl = d * (float)(b[k] & 0x0F), ml = dmin * (float)(b[k] >> 4);
                    float *y = out + 16 * k;
                    for (int l = 0; l < 16; l++) y[l] = dl * (float)((q[16 * part + l] >> (2 * plane)) & 3) - ml;
                }
            }
        }
    }
}

/* Sub-block k's q3_K scale, -32…31 (KQuantCodecs.q3Scale). */
static inline int q3_scale(const uint8_t *scales, int k) {
    int low = (scales[k % 8] >> (4 * (k / 8))) & 0x0F, high = (scales[8 + k % 4] >> (2 * (k / 4))) & 0x03;
    return (low | high << 4) - 32;
}

void kdq_decode_q3_K(const void *w, float *out, size_t n) {
    const uint8_t *b = w;
    for (size_t s = 0; s < n / 256; s++, b += 110, out += 256) {
        float d = half_at(b, 108);
        for (int half = 0; half < 2; half++) {
            const uint8_t *q = b + 32 + 32 * half;
            for (int plane = 0; plane < 4; plane++) {
                int bit = 4 * half + plane;
                for (int part = 0; part < 2; part++) {
                    int k = 8 * half + 2 * plane + part;
                    float dl = d * (float)q3_scale(b + 96, k);
                    float *y = out + 16 * k;
                    for (int l = 16 * part; l < 16 * part + 16; l++) {
                        int low = (q[l] >> (2 * plane)) & 3, high = (b[l] >> bit) & 1;
                        y[l - 16 * part] = dl * (float)(low - 4 + 4 * high);
                    }
                }
            }
        }
    }
}

/* Sub-block k's 6-bit scale and min in q4_K's and q5_K's 12 scale bytes (ggml's get_scale_min_k4). */
static inline void scale_min(const uint8_t *s, int k, int *scale, int *min) {
    if (k < 4) {
        *scale = s[k] & 63;
        *min = s[k + 4] & 63;
    } else {
        *scale = (s[k + 4] & 0x0F) | (s[k - 4] >> 6) << 4;
        *min = (s[k + 4] >> 4) | (s[k] >> 6) << 4;
    }
}

/* q4_K (144-byte super-blocks) or, with `high_bits`, q5_K (176): y = d·scale·q − dmin·min. */
static void decode_q45_K(const uint8_t *b, float *out, size_t n, int high_bits) {
    int bytes = high_bits ? 176 : 144, quants = high_bits ? 48 : 16;
    for (size_t s = 0; s < n / 256; s++, b += bytes, out += 256) {
        float d = half_at(b, 0), dmin = half_at(b, 2);
        for (int k = 0; k < 8; k++) {
            int sc, m;
            scale_min(b + 4, k, &sc, &m);
            float dl = d * (float)sc, ml = dmin * (float)m;
            const uint8_t *q = b + quants + 32 * (k / 2);
            int shift = 4 * (k % 2);
            float *y = out + 32 * k;
            for (int l = 0; l < 32; l++) {
                int level = (q[l] >> shift) & 0x0F;
                if (high_bits) level |= ((b[16 + l] >> k) & 1) << 4;
                y[l] = dl * (float)level - ml;
            }
        }
    }
}

void kdq_decode_q4_K(const void *w, float *out, size_t n) { decode_q45_K(w, out, n, 0); }
void kdq_decode_q5_K(const void *w, float *out, size_t n) { decode_q45_K(w, out, n, 1); }

void kdq_decode_q6_K(const void *w, float *out, size_t n) {
    const uint8_t *b = w;
    for (size_t s = 0; s < n / 256; s++, b += 210, out += 256) {
        float d = half_at(b, 208);
        for (int i = 0; i < 256; i++) {
            int half = i / 128, j = (i % 128) / 32, l = i % 32;
            int low = (b[64 * half + l + 32 * (j % 2)] >> (4 * (j / 2))) & 0x0F;
            int high = (b[128 + 32 * half + l] >> (2 * j)) & 0x03;
            out[i] = d * (float)(int8_t)b[192 + i / 16] * (float)((low | high << 4) - 32);
        }
    }
}
