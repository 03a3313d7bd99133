#ifndef KDQ_EXP_APPROX_H
#define KDQ_EXP_APPROX_H

/* The exp every path of CKernels uses (kernels.c's scalar, 4-, 8- and 16-lane versions, and
   the fused attention's softmax). */
/* exp: x = n·ln2 + r with |r| <= ln2/2 (ln2 split in two for exactness), a degree-6 polynomial
   for e^r, then 2^n built in the exponent bits. Below -87.34 (under FLT_MIN) it is 0; above 88
   it is clamped (callers only pass values <= 0). */
static const float exp_low = -87.33654f, exp_high = 88.0f;
static const float log2e = 1.44269504088896341f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
static const float exp_c[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512cd,avx512bw,avx512dq,avx512vl,avx2,fma,f16c")))

/* Sixteen lanes of it. */
AVX512 static inline __m512 exp16(__m512 x) {
    __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(exp_low), _CMP_NLT_UQ);
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(exp_low)), _mm512_set1_ps(exp_high));
    __m512 n = _mm512_roundscale_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(log2e), _mm512_set1_ps(0.5f)), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(ln2_hi), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(ln2_lo), r);
    __m512 y = _mm512_set1_ps(exp_c[0]);
    for (int i = 1; i < 6; i++) y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(exp_c[i]));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mul_ps(keep, y, _mm512_castsi512_ps(e));
}
#endif

#endif
