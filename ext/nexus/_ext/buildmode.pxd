# Build mode of the extensions, read from the C macro NEXUS_DEBUG that setup.py defines
# (NEXUS_DEBUG=1 in the environment: 1, with bounds checks on; otherwise 0).
#
# `if NEXUS_DEBUG:` is a C compile-time constant: in a release build the compiler drops the
# branch and everything only it calls, so debug-only checks cost nothing there.
cdef extern from *:
    """
    #ifndef NEXUS_DEBUG
    #define NEXUS_DEBUG 0
    #endif
    """
    const bint NEXUS_DEBUG
