#ifndef LOOM_CTURBOJPEG_SHIM_H
#define LOOM_CTURBOJPEG_SHIM_H
/* libjpeg-turbo's TurboJPEG API: whole-image decode and encode from memory, errors as strings
 * (no setjmp, unlike libjpeg's classic API). */
#include <turbojpeg.h>
#endif
