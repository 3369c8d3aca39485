#ifndef LOOM_CMPI_SHIM_H
#define LOOM_CMPI_SHIM_H
// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, …) are macros over addresses of
// globals, which Swift cannot import; these functions hand them over.
#include <mpi.h>

static inline MPI_Comm loom_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype loom_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype loom_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype loom_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype loom_mpi_long_long(void) { return MPI_LONG_LONG; }
static inline MPI_Op loom_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op loom_mpi_max(void) { return MPI_MAX; }
static inline MPI_Errhandler loom_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline void *loom_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int loom_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int loom_mpi_success(void) { return MPI_SUCCESS; }
static inline int loom_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
#endif
