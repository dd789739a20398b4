"""The wheel is an embedding API: built, installed in a clean venv, cimported and called.

Builds the project's wheel, installs it (no deps: those come from the dev venv through a
``.pth`` placed after the venv's own site-packages, so ``nexus`` resolves to the wheel, never
to the source tree), then in that venv:

* checks the wheel ships every extension's ``.pxd`` and ``fixedpoint.h`` and no benchmark
  module;
* compiles a tiny Cython extension that ``cimport``s the fixed-point contract and the book
  and calls both at C level;
* runs a Python snippet that embeds the historical VaR kernel.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EMBED_PYX = """
from libc.stdint cimport int64_t
from nexus._ext.fixedpoint cimport (FX_ROUND_HALF_EVEN, fx_int128, fx_mul, fx_mul_exact,
                                    fx_narrow64, fx_notional128)
from nexus._ext.book cimport Book

def run():
    cdef int64_t product = 0, narrow = 0, inexact_out = 0
    assert fx_mul(101_250_000_000, 2_000_000_000, FX_ROUND_HALF_EVEN, &product) == 0
    cdef int inexact = fx_mul_exact(1, 500_000_000, &inexact_out)
    cdef fx_int128 wide = fx_notional128(product, 3_000_000_000, FX_ROUND_HALF_EVEN)
    cdef int overflow = fx_narrow64(wide, &narrow)
    cdef Book book = Book()
    cdef int rested = book.submit_c(1, 0, 100_000_000_000, 5_000_000_000, 7, 0, 0, 0)
    cdef int filled = book.submit_c(2, 1, 100_000_000_000, 2_000_000_000, 8, 2, 0, 0)
    return product, inexact, overflow, narrow, rested, filled, book.last_filled, book.find_c(-1)
"""

SETUP_PY = """
import nexus
from Cython.Build import cythonize
from setuptools import Extension, setup

ext = Extension("embed", ["embed.pyx"], include_dirs=[nexus.get_include()])
setup(ext_modules=cythonize([ext], include_path=[nexus.get_include()],
                            compiler_directives={"language_level": 3}))
"""

VAR_SNIPPET = """
import nexus, numpy as np
from nexus.book import Book, Result
from services.analytics.core.var import historical_var
assert "site-packages" in nexus.__file__, nexus.__file__
pnl = np.random.default_rng(7).normal(0.0, 1000.0, 500)
estimate = historical_var(pnl, 0.99)
print(type(estimate).__name__, estimate)
assert Result(Book().submit(1, 0, 1, 1)) is Result.RESTED
"""


def run(*cmd: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{cmd}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_wheel_installs_and_embeds(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        dist,
        ROOT,
    )
    [wheel] = dist.glob("nexustrade-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for contract in (
        "nexus/_ext/fixedpoint.pxd",
        "nexus/_ext/fixedpoint.h",
        "nexus/_ext/book.pxd",
        "nexus/_ext/fixed.pxd",
    ):
        assert contract in names, contract
    assert not any("fixedbench" in n for n in names), sorted(n for n in names if "bench" in n)
    assert any(n.startswith("nexus/_ext/book.") and n.endswith(".so") for n in names)

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    py = venv / "bin" / "python"
    run(py, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel)
    site = Path(
        run(
            py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path
        ).strip()
    ).resolve()
    # dependencies (numpy, numba, msgspec, Cython, ...) from the dev venv, searched after the wheel
    (site / "zz_dev_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    where = run(py, "-c", "import nexus; print(nexus.__file__, nexus.get_include())", cwd=tmp_path)
    assert str(site) in where and str(ROOT) not in where, where

    work = tmp_path / "embed"
    work.mkdir()
    (work / "embed.pyx").write_text(textwrap.dedent(EMBED_PYX))
    (work / "setup.py").write_text(textwrap.dedent(SETUP_PY))
    run(py, "setup.py", "-q", "build_ext", "--inplace", cwd=work)
    out = run(py, "-c", "import embed; print(embed.run())", cwd=work)
    product, inexact, overflow, narrow, rested, filled, last_filled, absent = eval(out)
    assert product == 202_500_000_000  # 101.25 * 2
    assert inexact == 3  # 1e-9 * 0.5 needs rounding
    assert (overflow, narrow) == (0, 607_500_000_000)  # 202.5 * 3 fits int64
    assert (rested, filled, last_filled, absent) == (0, 1, 2_000_000_000, -1)

    out = run(py, "-c", VAR_SNIPPET, cwd=tmp_path)
    assert "VaR" in out or "Estimate" in out, out
