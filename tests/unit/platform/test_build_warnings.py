"""``setup.py`` makes a Cython warning an error in every build, a C warning one in a debug build.

Each test copies ``setup.py`` beside a one-module ``ext/`` tree holding the offending source
and builds it out of tree (``NEXUS_C_DIR``), so nothing in the checkout is touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

#: a Cython (not C) warning: a pointer and a value in one declaration
CYTHON_WARNING = """\
def value():
    cdef int a = 1, *b = NULL
    return a
"""

#: Cython-clean code whose C draws a -Wall warning (an unused variable)
C_WARNING = '''\
cdef extern from *:
    """
    static int nx_warned(void) { int unused_variable; return 0; }
    """
    int nx_warned()

def value():
    return nx_warned()
'''


def build(tmp_path: Path, source: str, **env: str) -> subprocess.CompletedProcess[str]:
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copyfile(ROOT / name, tmp_path / name)
    pkg = tmp_path / "ext" / "nexus" / "_ext"
    pkg.mkdir(parents=True)
    (pkg / "warned.pyx").write_text(source)
    return subprocess.run(
        [sys.executable, "setup.py", "--quiet", "build_ext", "--build-lib", "lib"],
        cwd=tmp_path,
        env={**os.environ, "NEXUS_C_DIR": str(tmp_path / "c"), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_cython_warning_fails_the_build(tmp_path: Path) -> None:
    done = build(tmp_path, CYTHON_WARNING)
    assert done.returncode != 0
    assert "Non-trivial type declarators in shared declaration" in done.stderr + done.stdout
    assert not (tmp_path / "c").exists() or not list((tmp_path / "c").rglob("*.c"))


def test_a_c_warning_fails_a_debug_build(tmp_path: Path) -> None:
    done = build(tmp_path, C_WARNING, NEXUS_DEBUG="1")
    assert done.returncode != 0
    assert "unused_variable" in done.stderr + done.stdout
    assert "-Werror" in done.stderr + done.stdout
    assert not list((tmp_path / "lib").rglob("*.so"))
