"""The C contract ``nexus/_ext/fixedpoint.pxd`` never narrows a 128-bit notional silently.

Issue 16.2: ``fx_int128`` was declared ``long long``, so an ``int64_t`` assigned from
``fx_notional128(...)`` compiled without a warning and truncated 8.5e28 to
7,883,915,266,840,402,696. It is now opaque to Cython: an assignment either way does not
compile, and the one narrowing offered, ``fx_narrow64``, reports the overflow.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nexus

INT64_MAX = 2**63 - 1
#: INT64_MAX * INT64_MAX at scale (to nearest, no tie): the largest notional two raws make
WIDEST = (INT64_MAX * INT64_MAX + 10**9 // 2) // 10**9
#: what a silent int64 truncation of WIDEST gave
TRUNCATED = 7_883_915_266_840_402_696

HEADER = """\
from libc.stdint cimport int64_t
from nexus._ext.fixedpoint cimport (FX_ROUND_HALF_EVEN, fx_hi64, fx_int128, fx_lo64,
                                    fx_narrow64, fx_notional128)
"""


def test_the_arithmetic_of_the_issue() -> None:
    assert WIDEST > INT64_MAX
    assert (WIDEST + 2**63) % 2**64 - 2**63 == TRUNCATED


#: unchecked uses of a 128-bit value, each with the refusal Cython must print (one module,
#: one compiler run: Cython reports every error of the module)
UNCHECKED = {
    "to int64_t": (
        "def to_int64(int64_t p, int64_t q):\n"
        "    cdef int64_t out = fx_notional128(p, q, FX_ROUND_HALF_EVEN)\n"
        "    return out\n",
        "Cannot assign type 'fx_int128' to 'int64_t'",
    ),
    "to long long": (
        "def to_long_long(int64_t p, int64_t q):\n"
        "    cdef long long out\n"
        "    out = fx_notional128(p, q, FX_ROUND_HALF_EVEN)\n"
        "    return out\n",
        "Cannot assign type 'fx_int128' to 'long long'",
    ),
    "from int64_t": (
        "def from_int64(int64_t p):\n    cdef fx_int128 wide = p\n    return fx_lo64(wide)\n",
        "to 'fx_int128'",
    ),
    "arithmetic": (
        "def arithmetic(int64_t p, int64_t q):\n"
        "    return fx_notional128(p, q, FX_ROUND_HALF_EVEN) + 1\n",
        "Invalid operand types for '+' (fx_int128; long)",
    ),
}


def test_cython_refuses_every_unchecked_use_of_a_128_bit_value(tmp_path: Path) -> None:
    source = tmp_path / "unchecked.pyx"
    source.write_text(HEADER + "\n\n".join(code for code, _ in UNCHECKED.values()))
    done = subprocess.run(
        [sys.executable, "-m", "cython", "-3", "-I", nexus.get_include(), str(source)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    report = done.stderr + done.stdout
    missing = [case for case, (_, refusal) in UNCHECKED.items() if refusal not in report]
    assert not missing, report


EMBED = """\
def narrow(int64_t price, int64_t qty):
    cdef int64_t out = -1
    cdef fx_int128 wide = fx_notional128(price, qty, FX_ROUND_HALF_EVEN)
    cdef int status = fx_narrow64(wide, &out)
    return status, out, fx_hi64(wide), fx_lo64(wide)
"""

FITS = "snippet.narrow(202_500_000_000, 3 * 10**9)"  # 202.5 * 3

SETUP = """\
import nexus
from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [Extension("snippet", ["snippet.pyx"], include_dirs=[nexus.get_include()])],
        include_path=[nexus.get_include()],
        quiet=True,
    ),
    script_args=["-q", "build_ext", "--inplace"],
)
"""


def test_checked_narrowing_reports_the_overflow_and_keeps_every_bit(tmp_path: Path) -> None:
    (tmp_path / "snippet.pyx").write_text(HEADER + EMBED)
    (tmp_path / "setup.py").write_text(SETUP)
    built = subprocess.run(
        [sys.executable, "setup.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert built.returncode == 0, built.stderr
    script = f"import snippet; print((snippet.narrow({INT64_MAX}, {INT64_MAX}), {FITS}))"
    ran = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    widest, fitting = ast.literal_eval(ran.stdout)
    status, out, hi, lo = widest
    assert (status, out) == (1, -1)  # refused, and the output left untouched
    assert (hi << 64) + lo == WIDEST  # the 128-bit value itself is exact
    assert fitting[:2] == (0, 607_500_000_000)  # 202.5 * 3 fits int64
