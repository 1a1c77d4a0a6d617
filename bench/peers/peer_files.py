"""What the peer scripts share: finding a data file (plain or .gz) and naming the OpenBLAS core."""
import os
import sys


def find(folder, name, program):
    """The path of NAME or NAME.gz in FOLDER; exits naming PROGRAM if neither exists."""
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.exists(path):
            return path
    sys.exit(f"{program}: {name}(.gz) not found in {folder}")


def openblas_core():
    """The kernel set OpenBLAS chose (libopenblas.so.0 detects the same way as torch's BLAS)."""
    try:
        import ctypes  # pylint: disable=import-outside-toplevel
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return "unknown (libopenblas.so.0 not found)"
