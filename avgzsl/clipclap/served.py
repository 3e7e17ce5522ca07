"""What the served model accepts (``mlflow models serve``; docs/predict.md): a table with a ``features``
column of vectors, and optionally ``class_names`` and ``class_text``, checked against settable limits.

Every refusal is a :class:`PredictError` with one line a REST caller can act on; the MLflow side
(``resources/clipclap_pyfunc.py``) answers it with HTTP 400.  No MLflow here.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np

from avgzsl.clipclap.predictor import PredictError

COLUMNS = ("features", "class_names", "class_text")
LIMIT_ENV = {"rows": "AVGZSL_SERVE_MAX_ROWS", "classes": "AVGZSL_SERVE_MAX_CLASSES",
             "new_classes": "AVGZSL_SERVE_MAX_NEW_CLASSES", "depth": "AVGZSL_SERVE_MAX_JSON_DEPTH"}


@dataclass(frozen=True)
class ServeLimits:
    """Per request: input rows, class names, names the server encodes itself (each takes the text encoders
    ~0.2 s on a CPU: more would outlast the server's 60 s timeout), and JSON nesting depth."""

    rows: int = 10_000
    classes: int = 1_000
    new_classes: int = 64
    depth: int = 32

    @classmethod
    def from_env(cls, environ=os.environ) -> "ServeLimits":
        values = {}
        for field, name in LIMIT_ENV.items():
            raw = environ.get(name)
            if raw is None:
                continue
            if not re.fullmatch(r"\d+", raw.strip()) or int(raw) < 1:
                raise PredictError(f"{name}={raw!r}: expected a whole number ≥ 1")
            values[field] = int(raw)
        return cls(**values)


def json_depth(body: bytes | str) -> int:
    """How deeply a JSON text nests arrays and objects (brackets inside strings do not count)."""
    data = body.encode() if isinstance(body, str) else bytes(body)
    data = re.sub(rb'"(?:[^"\\]|\\.)*"', b'""', data)
    codes = np.frombuffer(data, dtype=np.uint8)
    steps = np.isin(codes, (ord("["), ord("{"))).astype(np.int64) - np.isin(codes, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max()) if steps.size else 0


def check_json_depth(body: bytes | str, limits: ServeLimits) -> None:
    if json_depth(body) > limits.depth:
        raise PredictError(f"the request's JSON nests more than {limits.depth} levels deep "
                           f"(limit {LIMIT_ENV['depth']}); send a features column of vectors")


def _matrix(values, what: str, width: int, unit: str) -> np.ndarray:
    try:
        rows = [np.asarray(v, dtype=np.float32).reshape(-1) for v in values]
    except (TypeError, ValueError):
        raise PredictError(f"{what}: expected numbers in each row") from None
    widths = sorted({len(r) for r in rows})
    if widths != [width]:
        raise PredictError(f"{what} have {', '.join(map(str, widths))} values per row; this model takes {width} "
                           f"({unit})")
    matrix = np.stack(rows)
    bad = np.flatnonzero(~np.isfinite(matrix).all(axis=1))
    if bad.size:
        raise PredictError(f"{what} row {int(bad[0])} has non-finite values (NaN or ±inf); "
                           f"{bad.size} row(s) in all")
    return matrix


def _one_list(column, what: str) -> list | None:
    """The value rows give for a per-request column (it may be on every row or only some; they must agree)."""
    given = [v for v in column if v is not None and not (isinstance(v, float) and np.isnan(v))]
    if not given:
        return None
    first = [x.tolist() if hasattr(x, "tolist") else x for x in given[0]]
    for other in given[1:]:
        if [x.tolist() if hasattr(x, "tolist") else x for x in other] != first:
            raise PredictError(f"{what} differ between rows; give one list (on the first row or on every row)")
    return first


def parse_table(table, input_dim: int, text_dim: int, settings: dict, limits: ServeLimits):
    """(features (N, D), class names or None, class_text (C, Dt) or None) from a table with COLUMNS."""
    columns = [str(c) for c in getattr(table, "columns", [])]
    if "features" not in columns or set(columns) - set(COLUMNS):
        shown = ", ".join(columns[:6]) + (", …" if len(columns) > 6 else "") if columns else "none"
        raise PredictError(f"input columns ({shown}): expected a features column of vectors, and optionally "
                           "class_names and class_text")
    if not 0 < len(table) <= limits.rows:
        raise PredictError(f"{len(table)} input rows: expected 1 to {limits.rows} (limit {LIMIT_ENV['rows']})")
    features = _matrix(list(table["features"]), "features", input_dim, f"{settings['modality']} features")
    names = _one_list(table["class_names"], "class_names") if "class_names" in columns else None
    if names is not None:
        names = [str(n) for n in names]
        if len(names) > limits.classes:
            raise PredictError(f"class_names has {len(names)} names; this server ranks at most {limits.classes} "
                               f"(limit {LIMIT_ENV['classes']})")
    text = _one_list(table["class_text"], "class_text") if "class_text" in columns else None
    if text is not None:
        if names is None or len(text) != len(names):
            raise PredictError("class_text needs class_names, one text row per name")
        text = _matrix(text, "class_text", text_dim, f"{settings['text']} text embeddings")
    return features, names, text


def check_new_classes(names: list[str], is_seen: np.ndarray, limits: ServeLimits) -> None:
    """Names the server would encode itself: at most ``limits.new_classes`` per request."""
    new = int((~is_seen).sum())
    if new > limits.new_classes:
        raise PredictError(f"class_names has {new} names that are not training classes; this server encodes at most "
                           f"{limits.new_classes} per request (limit {LIMIT_ENV['new_classes']}): send their "
                           "class_text, or split the class list")
