/*
 * The two libgfortran routines that Debian's static OpenBLAS (its LAPACK part,
 * compiled from Fortran) calls. libgfortran.a is not position-independent, so
 * it cannot go into a shared object, and shipping libgfortran.so.5 for two
 * small functions would add a library to every install. Compiled only into
 * the self-contained prebuilt binaries (binding.gyp, static_deps=1).
 *
 * Both follow libgfortran's ABI since GCC 8 (string lengths are size_t;
 * arrays are passed as descriptors) and its behaviour:
 *   _gfortran_concat_string  dest = s1 // s2, truncated or blank-padded
 *                            (LAPACK builds option strings for ILAENV);
 *   _gfortran_etime          ETIME(tarray): user and system CPU seconds
 *                            (LAPACK's SECOND and DSECND timers).
 * Hidden, so no other library in the process can bind to them.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>

#define SHIM_API __attribute__((visibility("hidden")))

SHIM_API void _gfortran_concat_string(size_t destlen, char *dest, size_t len1, const char *s1,
                                      size_t len2, const char *s2) {
  if (len1 >= destlen) {
    memcpy(dest, s1, destlen);
    return;
  }
  memcpy(dest, s1, len1);
  dest += len1;
  destlen -= len1;
  if (len2 >= destlen) {
    memcpy(dest, s2, destlen);
    return;
  }
  memcpy(dest, s2, len2);
  memset(dest + len2, ' ', destlen - len2);
}

/* gfortran's rank-1 array descriptor for REAL(4) (libgfortran.h, GCC >= 8). */
struct gfc_dtype {
  size_t elem_len;
  int version;
  signed char rank;
  signed char type;
  signed short attribute;
};
struct gfc_dim {
  ptrdiff_t stride;
  ptrdiff_t lower_bound;
  ptrdiff_t upper_bound;
};
struct gfc_array_r4 {
  float *base_addr;
  size_t offset;
  struct gfc_dtype dtype;
  ptrdiff_t span;
  struct gfc_dim dim[1];
};

SHIM_API float _gfortran_etime(struct gfc_array_r4 *tarray) {
  float user = -1.0f;
  float system = -1.0f;
  float total = -1.0f;
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) == 0) {
    user = (float)usage.ru_utime.tv_sec + 1e-6f * (float)usage.ru_utime.tv_usec;
    system = (float)usage.ru_stime.tv_sec + 1e-6f * (float)usage.ru_stime.tv_usec;
    total = user + system;
  }
  /* libgfortran aborts on an array shorter than 2; LAPACK always passes 2. */
  ptrdiff_t extent = tarray->dim[0].upper_bound - tarray->dim[0].lower_bound + 1;
  if (tarray->dtype.rank == 1 && extent >= 2) {
    ptrdiff_t stride = tarray->dim[0].stride != 0 ? tarray->dim[0].stride : 1;
    tarray->base_addr[0] = user;
    tarray->base_addr[stride] = system;
  }
  return total;
}
