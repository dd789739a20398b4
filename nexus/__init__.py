"""NexusTrade platform library: money, events, bus, web chassis, clients, storage, infra."""

__version__ = "0.1.0"


def get_include() -> str:
    """Directory to put on a C compiler's and Cython's include path to build against nexus.

    It holds ``nexus/_ext/fixedpoint.h`` and the ``.pxd`` contracts (``cimport
    nexus._ext.fixedpoint``, ``from nexus._ext.book cimport Book``): beside the installed
    package in a wheel, ``ext/`` in a source checkout.
    """
    from pathlib import Path

    package = Path(__file__).resolve().parent
    if (package / "_ext" / "fixedpoint.h").exists():
        return str(package.parent)
    return str(package.parent / "ext")
