"""Build the Cython hot paths in ``ext/`` as modules of the ``nexus._ext`` package.

``ext/`` mirrors the package tree: ``ext/nexus/_ext/<name>.pyx`` (with its ``.pxd`` contract)
becomes the module ``nexus._ext.<name>``, so other extensions ``cimport`` it by its real name. Build modes are flags, never edits:

* ``NEXUS_ANNOTATE=1``  writes Cython's HTML annotation next to each source;
* ``NEXUS_LINETRACE=1`` compiles with line tracing (coverage of Cython code);
* ``NEXUS_DEBUG=1``     turns bounds/wraparound checks back on, defines the C macro
  ``NEXUS_DEBUG`` 1 (read through ``buildmode.pxd``: the book checks its invariants after every
  operation), makes C compiler warnings errors and writes the generated C under
  :data:`DEBUG_C_DIR`, so a debug build never overwrites the release build's C files;
* ``NEXUS_EXTENSIONS=book,fixed`` builds only the named modules (the debug CI step's);
* ``NEXUS_C_DIR=<dir>`` writes the generated C under ``<dir>`` (an out-of-tree build).

A Cython warning is always an error. C warnings are errors only in the debug build: the
release build is what ``pip install`` runs on any compiler, whose new warnings about
Cython's generated code must not break an installation.

A wheel ships every extension with its ``.pxd`` contract and ``fixedpoint.h`` beside it (so
other extensions can ``cimport`` them, include path ``nexus.get_include()``), and leaves out
the benchmark-only modules (:data:`BENCH_ONLY`), which are built only in place.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from Cython.Compiler import Options as CythonOptions
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent
EXT_DIR = HERE / "ext"

annotate = os.environ.get("NEXUS_ANNOTATE") == "1"
linetrace = os.environ.get("NEXUS_LINETRACE") == "1"
debug = os.environ.get("NEXUS_DEBUG") == "1"
only = {n.strip() for n in os.environ.get("NEXUS_EXTENSIONS", "").split(",") if n.strip()}
#: where a debug build writes its generated C (a release build writes it beside each source)
DEBUG_C_DIR = "build/debug/c"
c_dir = os.environ.get("NEXUS_C_DIR") or (DEBUG_C_DIR if debug else None)

CythonOptions.warning_errors = True

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

#: extension modules used only by bench/ (never in a wheel)
BENCH_ONLY = {"nexus._ext.fixedbench"}
building_wheel = "bdist_wheel" in sys.argv


class build_ext_without_bench(build_ext):
    """Build the benchmark-only extensions only in place (``make build``), never for a wheel."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if not self.inplace:
            self.extensions = [e for e in self.extensions if e.name not in BENCH_ONLY]


class build_py_with_contracts(build_py):
    """Copy the Cython contracts (``ext/**/*.pxd``) and C headers beside the built modules."""

    def run(self) -> None:
        super().run()
        for src in sorted([*EXT_DIR.rglob("*.pxd"), *EXT_DIR.rglob("*.h")]):
            rel = src.relative_to(EXT_DIR)
            if ".".join(rel.with_suffix("").parts) in BENCH_ONLY:
                continue
            dest = Path(self.build_lib) / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
        for name in BENCH_ONLY:  # an in-place build's artefacts must not ride along
            stem = Path(self.build_lib, *name.split("."))
            for built in stem.parent.glob(stem.name + ".*"):
                built.unlink()


extensions = [
    Extension(
        ".".join(pyx.relative_to(EXT_DIR).with_suffix("").parts),
        [str(pyx.relative_to(HERE))],
        include_dirs=[str(EXT_DIR), np.get_include()],
        define_macros=macros,
        extra_compile_args=[
            "-O3",
            "-Wno-unused-function",
            "-Wno-unreachable-code",
            *(["-Werror"] if debug else []),
        ],
    )
    for pyx in sorted(EXT_DIR.rglob("*.pyx"))
    if not (
        building_wheel and ".".join(pyx.relative_to(EXT_DIR).with_suffix("").parts) in BENCH_ONLY
    )
    and (not only or pyx.stem in only)
]

setup(
    cmdclass={"build_py": build_py_with_contracts, "build_ext": build_ext_without_bench},
    ext_modules=cythonize(
        extensions,
        include_path=[str(EXT_DIR)],
        compiler_directives=directives,
        annotate=annotate,
        nthreads=0,
        build_dir=c_dir,
    ),
)
