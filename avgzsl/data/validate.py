"""Checks on user data; every failure is a :class:`DataError` naming the file at fault."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from avgzsl.errors import UserError

# How many offending items an error message lists before it says "and N more".
SHOWN_ITEMS = 5


class DataError(UserError, ValueError):
    """A problem with user data: the message names the file, the class/video and what was expected."""


def preview(items: Iterable[object], limit: int = SHOWN_ITEMS) -> str:
    """``'a', 'b', 'c' and 4 more`` for error messages."""
    items = list(items)
    shown = ", ".join(repr(item) for item in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise DataError(f"{what}: folder not found: {path}")
    return path


def require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise DataError(f"{what}: file not found: {path}")
    return path


def check_unique(names: Sequence[str], where: Path | str, what: str = "entry") -> None:
    """No name may occur twice (exact comparison)."""
    repeated = [name for name, count in Counter(names).items() if count > 1]
    if repeated:
        raise DataError(f"{where}: duplicate {what} {preview(repeated)}; each must occur once")


def check_disjoint(first: Iterable[str], second: Iterable[str], first_file: Path, second_file: Path) -> None:
    common = sorted(set(first) & set(second))
    if common:
        raise DataError(
            f"{first_file} and {second_file} share classes {preview(common)}: "
            "seen and unseen class lists must be disjoint"
        )


def check_subset(inner: Iterable[str], outer: Iterable[str], inner_file: Path, outer_file: Path) -> None:
    extra = sorted(set(inner) - set(outer))
    if extra:
        raise DataError(f"{inner_file} lists classes {preview(extra)} that are not in {outer_file}; expected a subset")


def check_finite(matrix: np.ndarray, path: Path, row_names: Sequence[str], what: str = "video") -> None:
    """Every value must be finite; the message names the first offending row."""
    finite_rows = np.isfinite(matrix).all(axis=1)
    if not finite_rows.all():
        bad = np.flatnonzero(~finite_rows)
        raise DataError(
            f"{path}: NaN or infinite values in the vector of {what} {row_names[bad[0]]!r} "
            f"({len(bad)} {what}(s) affected); expected finite floats"
        )


def check_dim(dim: int, expected: int | None, path: Path, reference: Path | None, what: str) -> int:
    """The first file sets a vector size; every later file must agree."""
    if expected is not None and dim != expected:
        raise DataError(f"{path}: {what} vectors have {dim} values, but {reference} has {expected}; sizes must agree")
    return dim


def as_vector_matrix(vectors: object, path: Path, row_names: Sequence[str], what: str) -> np.ndarray:
    """Stack vectors given as (D,) or (1, D) into a float32 (N, D) matrix."""
    try:
        matrix = np.asarray(vectors, dtype=np.float32)
    except (ValueError, TypeError):
        matrix = None
    if matrix is not None and matrix.ndim == 3 and matrix.shape[1] == 1:
        matrix = matrix[:, 0, :]
    if matrix is None or matrix.ndim != 2 or matrix.shape[0] != len(row_names) or matrix.shape[1] == 0:
        raise DataError(f"{path}: {_first_bad_vector(vectors, row_names, what)}")
    return matrix


def _first_bad_vector(vectors: object, row_names: Sequence[str], what: str) -> str:
    expected = "expected numeric vectors of shape (D,) or (1, D), all of one size"
    try:
        items = list(vectors)  # type: ignore[call-overload]
    except TypeError:
        return f"{what} vectors are a {type(vectors).__name__}, not a list; {expected}"
    shapes: dict[tuple[int, ...], str] = {}
    for name, item in zip(row_names, items):
        try:
            shape = np.shape(np.asarray(item, dtype=np.float32))
        except (ValueError, TypeError):
            return f"the vector of {what} {name!r} is not numeric ({type(item).__name__}); {expected}"
        squeezed = shape[1:] if len(shape) == 2 and shape[0] == 1 else shape
        if len(squeezed) != 1 or squeezed[0] == 0:
            return f"the vector of {what} {name!r} has shape {shape}; {expected}"
        shapes.setdefault(squeezed, name)
    if len(shapes) > 1:
        return f"vectors of different sizes: {preview(f'{n}: {s}' for s, n in shapes.items())}; {expected}"
    return f"{len(items)} vectors for {len(row_names)} {what} names; expected one vector per {what}"
