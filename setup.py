"""Build the Cython hot paths in ``ext/`` as modules of the ``nexus._ext`` package.

``ext/`` mirrors the package tree: ``ext/nexus/_ext/<name>.pyx`` (with its ``.pxd`` contract)
becomes the module ``nexus._ext.<name>``, so other extensions ``cimport`` it by its real name. Build modes are flags, never edits:

* ``NEXUS_ANNOTATE=1``  writes Cython's HTML annotation next to each source;
* ``NEXUS_LINETRACE=1`` compiles with line tracing (coverage of Cython code);
* ``NEXUS_DEBUG=1``     turns bounds/wraparound checks back on and defines ``NEXUS_DEBUG``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = Path(__file__).parent
EXT_DIR = HERE / "ext"

annotate = os.environ.get("NEXUS_ANNOTATE") == "1"
linetrace = os.environ.get("NEXUS_LINETRACE") == "1"
debug = os.environ.get("NEXUS_DEBUG") == "1"

directives: dict[str, object] = {
    "language_level": 3,
    "boundscheck": debug,
    "wraparound": debug,
    "cdivision": True,
    "initializedcheck": debug,
    "embedsignature": True,
    "linetrace": linetrace,
    "profile": False,
}
macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"), ("NEXUS_DEBUG", "1" if debug else "0")]
if linetrace:
    macros.append(("CYTHON_TRACE_NOGIL", "1"))

extensions = [
    Extension(
        ".".join(pyx.relative_to(EXT_DIR).with_suffix("").parts),
        [str(pyx.relative_to(HERE))],
        include_dirs=[str(EXT_DIR), np.get_include()],
        define_macros=macros,
        extra_compile_args=["-O3", "-Wno-unused-function", "-Wno-unreachable-code"],
    )
    for pyx in sorted(EXT_DIR.rglob("*.pyx"))
]

setup(
    ext_modules=cythonize(
        extensions,
        include_path=[str(EXT_DIR)],
        compiler_directives=directives,
        annotate=annotate,
        nthreads=0,
    ),
)
