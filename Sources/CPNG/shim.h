#ifndef LOOM_CPNG_SHIM_H
#define LOOM_CPNG_SHIM_H
/* libpng 1.6's simplified API (png_image): no setjmp, errors in image.message. */
#include <png.h>
#endif
