#include <cblas.h>
// LAPACK's Cholesky routines (dpotrf_, dpotri_), which OpenBLAS exports.
#include <f77blas.h>
