#include <cblas.h>
#include <stddef.h>

/* LAPACK's Cholesky factorization and inverse from a factor, as OpenBLAS exports them
   (Fortran calling convention: column-major, arguments by reference, the length of the
   character argument last). */
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t uplo_length);
void dpotri_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t uplo_length);
