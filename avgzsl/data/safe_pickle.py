"""Load pickles and object ``.npy`` files without running code: only containers and numpy arrays."""
from __future__ import annotations

import _compat_pickle
import builtins
import collections
import importlib
import pickle
import warnings
from pathlib import Path
from typing import IO

import numpy as np
from numpy.lib import format as npy_format

from avgzsl.data.validate import DataError

_BUILTINS = (
    "dict", "list", "tuple", "set", "frozenset", "str", "bytes", "bytearray",
    "int", "float", "complex", "bool", "slice",
)
# numpy callables that rebuild arrays, scalars and dtypes, as named by numpy 1.x and 2.x pickles.
_NUMPY_ALIASES = {
    "numpy.core.multiarray": "multiarray",
    "numpy._core.multiarray": "multiarray",
    "numpy.core.numeric": "numeric",
    "numpy._core.numeric": "numeric",
}
_NUMPY_CALLABLES = {"multiarray": ("_reconstruct", "scalar"), "numeric": ("_frombuffer",)}


class UnsafePickleError(DataError):
    """A pickle asked for a global outside the allow-list; nothing was executed."""


def _numpy_module(short_name: str):
    """numpy's ``_core.<name>`` (numpy 2) or ``core.<name>`` (numpy 1) module."""
    for module_name in (f"numpy._core.{short_name}", f"numpy.core.{short_name}"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                module = importlib.import_module(module_name)
        except ImportError:
            continue
        if all(hasattr(module, name) for name in _NUMPY_CALLABLES[short_name]):
            return module
    raise ImportError(f"numpy has no {short_name} module with {_NUMPY_CALLABLES[short_name]}")


def _allowed_global(module: str, name: str) -> object | None:
    if module == "builtins" and name in _BUILTINS:
        return getattr(builtins, name)
    if module == "collections" and name == "OrderedDict":
        return collections.OrderedDict
    if module == "_codecs" and name == "encode":  # bytes in protocol-2 pickles
        import _codecs

        return _codecs.encode
    if module == "numpy" and name in ("ndarray", "dtype"):
        return getattr(np, name)
    short_name = _NUMPY_ALIASES.get(module)
    if short_name and name in _NUMPY_CALLABLES[short_name]:
        return getattr(_numpy_module(short_name), name)
    return None


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only allow-listed globals and refuses persistent ids."""

    def __init__(self, file: IO[bytes], source: Path | str):
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str) -> object:
        # Protocol-2 pickles name Python 2 modules (__builtin__); map them as pickle itself does.
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        found = _allowed_global(module, name)
        if found is None:
            raise UnsafePickleError(
                f"{self.source}: refused to load global '{module}.{name}'; only plain containers, "
                "scalars and numpy arrays are allowed (nothing was executed)"
            )
        return found

    def persistent_load(self, pid: object) -> object:
        raise UnsafePickleError(f"{self.source}: refused persistent id {pid!r} (nothing was executed)")


def _unpickle(file: IO[bytes], source: Path | str) -> object:
    try:
        return RestrictedUnpickler(file, source).load()
    except DataError:
        raise
    except Exception as error:  # any failure while decoding untrusted bytes means a bad file
        raise DataError(f"{source}: truncated or corrupt pickle ({type(error).__name__}: {error})") from error


def safe_load_pickle(path: Path) -> object:
    """Unpickle ``path`` admitting only plain containers, scalars and numpy arrays."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            return _unpickle(file, path)
    except FileNotFoundError as error:
        raise DataError(f"pickle not found: {path}") from error


def safe_load_npy_object(path: Path) -> object:
    """Read a ``.npy`` file; an object array's payload goes through the restricted unpickler.

    A 0-d object array (what ``np.save`` writes for a dict) returns its item, like ``.item()``.
    """
    path = Path(path)
    try:
        with path.open("rb") as file:
            dtype, shape, fortran_order = _read_npy_header(file, path)
            if dtype.hasobject:
                array = _unpickle(file, path)
                if not isinstance(array, np.ndarray):
                    raise DataError(f"{path}: payload is a {type(array).__name__}, expected a numpy array")
            else:
                array = _read_plain_array(file, path, dtype, shape, fortran_order)
    except FileNotFoundError as error:
        raise DataError(f".npy file not found: {path}") from error
    return array[()] if array.shape == () and array.dtype.hasobject else array


def _read_npy_header(file: IO[bytes], path: Path) -> tuple[np.dtype, tuple[int, ...], bool]:
    try:
        version = npy_format.read_magic(file)
        if version == (1, 0):
            shape, fortran_order, dtype = npy_format.read_array_header_1_0(file)
        elif version == (2, 0):
            shape, fortran_order, dtype = npy_format.read_array_header_2_0(file)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except (ValueError, EOFError, SyntaxError) as error:
        raise DataError(f"{path}: not a valid .npy file ({error})") from error
    return dtype, shape, fortran_order


def _read_plain_array(file: IO[bytes], path: Path, dtype: np.dtype, shape: tuple[int, ...],
                      fortran_order: bool) -> np.ndarray:
    count = int(np.prod(shape, dtype=np.int64))
    data = file.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise DataError(f"{path}: truncated .npy file: {len(data)} of {count * dtype.itemsize} data bytes")
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape[::-1]).T if fortran_order else array.reshape(shape)
