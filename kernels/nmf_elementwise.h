/* nmf_elementwise.h - the per-element update math, written once and shared
 * by the CPU loops (src/cpu/backend_cpu.c) and the CUDA kernels in kernels/,
 * so that the CPU tests exercise the arithmetic the GPU runs. */
#ifndef NMF_ELEMENTWISE_H
#define NMF_ELEMENTWISE_H

#ifdef __CUDACC__
#define NMF_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define NMF_HOST_DEVICE static inline
#endif

#ifndef __CUDACC__
#include <math.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* scikit-learn's EPSILON: float32 machine epsilon, used even for float64. */
#define NMF_EPSILON 1.1920929e-07f

/* Below this, factor entries are set to 0 after a beta <= 1 update:
 * scikit-learn uses float64 epsilon even for float32 data. */
#define NMF_EPSILON64 2.220446049250313e-16f

/* One multiplicative update of a factor entry x with its numerator and
 * denominator (scikit-learn _multiplicative_update_w/_h): the L1 term is
 * added to the denominator, then the L2 term times x; a denominator that is
 * then exactly zero becomes EPSILON; the ratio is formed before the product,
 * in scikit-learn's order, and raised to gamma (1 for 1 <= beta <= 2). */
NMF_HOST_DEVICE float nmf_mu_update(float x, float numerator, float denominator, float l1,
                                    float l2, float gamma)
{
    denominator = denominator + l1;
    denominator = denominator + l2 * x;
    if (denominator == 0.0f)
        denominator = NMF_EPSILON;
    float ratio = numerator / denominator;
    if (gamma != 1.0f)
        ratio = powf(ratio, gamma);
    return x * ratio;
}

/* scikit-learn's exponent of the MU step for a beta-divergence. */
NMF_HOST_DEVICE float nmf_mu_gamma(float beta)
{
    return beta < 1.0f ? 1.0f / (2.0f - beta) : beta > 2.0f ? 1.0f / (beta - 1.0f) : 1.0f;
}

/* The element of V ∘ (WH)^(beta-2) that the beta-MU numerators multiply:
 * WH exactly 0 becomes EPSILON first (beta < 2), and beta = 1 and 0 are
 * computed as scikit-learn computes them (v / wh, (1/wh)² v). */
NMF_HOST_DEVICE float nmf_beta_numerator_term(float v, float wh, float beta)
{
    if (beta < 2.0f && wh == 0.0f)
        wh = NMF_EPSILON;
    if (beta == 1.0f)
        return v / wh;
    if (beta == 0.0f) {
        float inv = 1.0f / wh;
        return inv * inv * v;
    }
    return powf(wh, beta - 2.0f) * v;
}

/* The element of (WH)^(beta-1) that the beta-MU denominators multiply
 * (beta != 1): WH exactly 0 becomes EPSILON when beta < 1. */
NMF_HOST_DEVICE float nmf_beta_denominator_term(float wh, float beta)
{
    if (beta < 1.0f && wh == 0.0f)
        wh = NMF_EPSILON;
    return powf(wh, beta - 1.0f);
}

/* One element of scikit-learn's D(V || WH) before its final scaling by
 * 1/(beta(beta-1)) (beta not 0, 1), in double: the parts over all entries
 * (WH for beta 1, -1 for beta 0, (beta-1)·WH^beta otherwise, WH not
 * clamped), plus, where v > EPSILON, the parts over V's non-zeros with WH
 * exactly 0 taken as EPSILON. Summed over all m·n entries it is D. */
NMF_HOST_DEVICE double nmf_beta_loss_term(float v, float wh, double beta)
{
    double x = v, y = wh;
    if (beta == 2.0) { /* the terms below without pow, whose squares are exact here */
        const double ys = wh == 0.0f ? (double)NMF_EPSILON : y;
        return y * y + (v > NMF_EPSILON ? x * x - 2.0 * x * ys : 0.0);
    }
    double s = beta == 1.0 ? y : beta == 0.0 ? -1.0 : (beta - 1.0) * pow(y, beta);
    if (v > NMF_EPSILON) {
        double ys = wh == 0.0f ? (double)NMF_EPSILON : y;
        if (beta == 1.0) {
            s += x * log(x / ys) - x;
        } else if (beta == 0.0) {
            double div = x / ys;
            s += div - log(div);
        } else {
            s += pow(x, beta) - beta * x * pow(ys, beta - 1.0);
        }
    }
    return s;
}

/* One HALS coordinate step (scikit-learn _update_cdnmf_fast): the new value
 * of x given the gradient and the Hessian (the Gram diagonal), skipped when
 * the Hessian is 0; *projected receives the projected gradient, which the
 * stopping rule sums in absolute value. */
NMF_HOST_DEVICE float nmf_hals_step(float x, float grad, float hess, float *projected)
{
    /* min(0, grad) and max(v, 0) as comparisons, with glibc's fminf/fmaxf
     * results (NaN -> 0, max(-0, 0) = -0), and v computed whatever hess is
     * (a division by 0 makes an unused inf or NaN): no call and no branch,
     * so the host compiler vectorises a loop of steps. */
    *projected = x == 0.0f ? (grad < 0.0f ? grad : 0.0f) : grad;
    const float v = x - grad / hess;
    return hess == 0.0f ? x : v >= 0.0f ? v : 0.0f;
}

#ifdef __cplusplus
}
#endif

#endif
