"""A trained run as a self-contained predictor: rank any class names for new inputs (docs/predict.md).

A predictor is the stage-2 network, the calibration β chosen on validation, the
classes of the dataset (which of them the network was trained on, their readable
names and the seen classes' text embeddings), the run's ablation settings, and the
encoders that produced its features.  On disk it is a folder, with no pickles::

    predictor.json       β, settings, classes, dimensions, encoder provenance, the SHA-256 of the two files below
    model.safetensors    the network (:mod:`avgzsl.clipclap.checkpoints`)
    classes.safetensors  clip_text, clap_text of the seen classes, in the order of predictor.json

A predictor folder is data: nothing in it decides how anything is loaded (no pickles, no
code, no trust flags), and its weights files are verified against their recorded checksums
before use, so a damaged or swapped file is refused with a line naming it.

Ranking is the evaluation's: the method's embeddings of the inputs and of the candidate
classes, the method's distances (Euclidean for ClipClap), β added to the seen classes
(calibrated stacking), nearest first.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from avgzsl.clipclap import metrics as ev
from avgzsl.clipclap.checkpoints import load_model, named_damage
from avgzsl.clipclap.inputs import ProtocolData, text_input
from avgzsl.data.store import arrow_to_vectors, sha256_file, table_metadata, write_bytes_atomic, write_json_atomic
from avgzsl.encoders.prompts import normalize_dataset
from avgzsl.errors import UserError
from avgzsl.methods.base import rank_distances
from avgzsl.methods.registry import DEFAULT_METHOD, get_method
from avgzsl.names import AUDIO, STAGE_2_TRAIN_SPLITS, STREAMS, VISUAL

PREDICTOR_FILE, MODEL_FILE, CLASSES_FILE = "predictor.json", "model.safetensors", "classes.safetensors"
FORMAT = 2  # 2: predictor.json records the SHA-256 of each weights file
WEIGHTS_FILES = (MODEL_FILE, CLASSES_FILE)
REFETCH = ("download the model again, or remove this predictor folder and predict from its run folder "
           "(`avgzsl predict --model <state>/runs/<dataset>/<variant> ...` writes it anew)")
# Text encoder: readable class names → (clip_text (C, Dc), clap_text (C, Da)), prompt ensembles included.
TextEncoder = Callable[[list[str]], tuple[np.ndarray, np.ndarray]]


class PredictError(UserError, ValueError):
    """A model, input or class list that cannot be ranked; the message says why and what to do."""


@dataclass
class Predictor:
    model: torch.nn.Module  # the method's network (its ``method_name`` says which)
    beta: float
    settings: dict  # dataset, variant, method, losses, features, modality, text, text_lookup, prompt_set
    classes: list[dict]  # every class of the dataset: class_name, readable_name, seen
    clip_text: np.ndarray  # (S, Dc) of the seen classes, in their order in ``classes``
    clap_text: np.ndarray  # (S, Da)
    dims: dict[str, int]  # visual, audio, clip_text, clap_text
    encoders: dict[str, dict[str, str]] = field(default_factory=dict)  # stream → provenance ({}: published)

    # -- building, saving, loading -------------------------------------------------------------------
    @classmethod
    def from_run(cls, data: ProtocolData, features: Path, classes: Path, model_path: Path, beta: float,
                 settings: dict) -> "Predictor":
        """The predictor of an evaluated run: ``data`` as trained, its feature tables, its stage-2 model."""
        table = pq.read_table(classes).sort_by("class_id")
        names, readable = table.column("class_name").to_pylist(), table.column("readable_name").to_pylist()
        seen = set(np.unique(data.labels.cpu()[data.rows(*STAGE_2_TRAIN_SPLITS)].numpy()).tolist())
        ids = sorted(seen)
        clip_text, clap_text = (arrow_to_vectors(table.column(c))[ids] for c in ("clip_text", "clap_text"))
        schema = pq.read_schema(features)
        meta = table_metadata(schema)
        encoders = {s: {k[len(s) + 1:]: v for k, v in meta.items() if k.startswith(f"{s}.")} for s in STREAMS}
        prompts = json.loads(table_metadata(table).get("encoders", "{}")).get("prompts")
        keep = ("dataset", "variant", "method", "losses", "features", "modality", "text", "text_lookup", "seed")
        return cls(
            model=load_model(model_path, method=settings.get("method") or DEFAULT_METHOD), beta=float(beta),
            settings={**{k: settings[k] for k in keep if k in settings},
                      "prompt_set": prompts or normalize_dataset(settings["dataset"])},
            classes=[{"class_name": n, "readable_name": r, "seen": i in seen}
                     for i, (n, r) in enumerate(zip(names, readable))],
            clip_text=np.ascontiguousarray(clip_text), clap_text=np.ascontiguousarray(clap_text),
            dims={VISUAL: schema.field(VISUAL).type.list_size, AUDIO: schema.field(AUDIO).type.list_size,
                  "clip_text": clip_text.shape[1], "clap_text": clap_text.shape[1]},
            encoders={s: e for s, e in encoders.items() if e})

    def save(self, folder: Path) -> Path:
        from safetensors.numpy import save as save_arrays

        from avgzsl.clipclap.checkpoints import save_model

        folder = Path(folder)
        save_model(self.model, folder / MODEL_FILE)
        write_bytes_atomic(save_arrays({"clip_text": self.clip_text, "clap_text": self.clap_text}),
                           folder / CLASSES_FILE)
        write_json_atomic({"format": FORMAT, "beta": self.beta, "settings": self.settings, "classes": self.classes,
                           "dims": self.dims, "encoders": self.encoders,
                           "sha256": {name: sha256_file(folder / name) for name in WEIGHTS_FILES}},
                          folder / PREDICTOR_FILE)
        return folder

    @classmethod
    def load(cls, folder: Path) -> "Predictor":
        from safetensors.numpy import load_file

        folder = Path(folder)
        path = folder / PREDICTOR_FILE
        if not path.is_file():
            raise PredictError(f"{folder}: not a predictor folder (no {PREDICTOR_FILE})")
        try:
            raw = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise PredictError(f"{path}: not readable JSON ({error}); {REFETCH}") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            found = raw.get("format") if isinstance(raw, dict) else None
            raise PredictError(f"{path}: predictor format {found!r}, this avgzsl reads {FORMAT}; "
                               "re-evaluate the run or upgrade avgzsl")
        verify_weights(folder, raw.get("sha256"))
        with named_damage(folder / CLASSES_FILE, REFETCH):
            arrays = load_file(str(folder / CLASSES_FILE))
        model = load_model(folder / MODEL_FILE, method=raw["settings"].get("method"), hint=REFETCH)
        return cls(model=model, beta=float(raw["beta"]), settings=raw["settings"],
                   classes=raw["classes"], clip_text=arrays["clip_text"], clap_text=arrays["clap_text"],
                   dims={k: int(v) for k, v in raw["dims"].items()}, encoders=raw.get("encoders", {}))

    # -- what it was trained on ----------------------------------------------------------------------
    @property
    def seen_classes(self) -> list[dict]:
        return [c for c in self.classes if c["seen"]]

    def describe(self) -> str:
        s = self.settings
        return f"{s.get('dataset', '?')} · {s.get('variant', '?')} (β {self.beta:.3f})"

    def check_rankable(self) -> None:
        if self.settings.get("text_lookup") == "positional":
            raise PredictError(f"{self.describe()} was trained with --text-lookup positional (the authors' defect): "
                               "its class embeddings were looked up by position, so its ranking of class names "
                               "means nothing; use a run trained with --text-lookup name")

    def input_streams(self) -> tuple[str, ...]:
        modality = self.settings["modality"]
        return STREAMS if modality == "both" else (modality,)

    def text_streams(self) -> tuple[str, ...]:
        """The encoders whose text towers make this model's class embedding (CLIP → visual, CLAP → audio)."""
        return {"both": STREAMS, "clip": (VISUAL,), "clap": (AUDIO,)}[self.settings["text"]]

    def check_dims(self, embed_dims: dict[str, int]) -> None:
        """Encoders of these output sizes (stream → dim) must be those the features and class texts were made with."""
        text = {VISUAL: "clip_text", AUDIO: "clap_text"}
        wrong = [f"{s} features: the encoder gives {dim}, the model was trained on {self.dims[s]}"
                 for s, dim in embed_dims.items() if s in self.input_streams() and dim != self.dims[s]]
        wrong += [f"{text[s]}: the encoder gives {dim}, the model's classes have {self.dims[text[s]]}"
                  for s, dim in embed_dims.items() if s in self.text_streams() and dim != self.dims[text[s]]]
        if wrong:
            raise PredictError(f"{self.describe()}: the encoders' dimensions do not match the model's "
                               f"({'; '.join(wrong)}); use the encoders the model was trained with")

    # -- ranking -------------------------------------------------------------------------------------
    def find(self, name: str) -> dict | None:
        """The dataset class a given name denotes (its class name or readable name, any case), or None."""
        key = name.strip().lower()
        return next((c for c in self.classes if key in (c["class_name"].lower(), c["readable_name"].lower())), None)

    def seen_flags(self, names: list[str]) -> np.ndarray:
        """Whether each name is a class the network was trained on (the calibration β applies to it)."""
        check_class_names(names)
        return np.array([(c := self.find(n)) is not None and c["seen"] for n in names], dtype=bool)

    def class_text(self, names: list[str], encode: TextEncoder | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The class embedding w of each name, and whether it is seen: ((C, text_dim), (C,) bool).

        A training class's w is the one it was trained with; any other name's comes from
        ``encode`` (the same prompt ensembles and text encoders), under the dataset's
        readable name when the name is one of its classes.
        """
        is_seen = self.seen_flags(names)
        found = [self.find(n) for n in names]
        seen_rows = {c["class_name"]: i for i, c in enumerate(self.seen_classes)}
        clip = np.zeros((len(names), self.dims["clip_text"]), dtype=np.float32)
        clap = np.zeros((len(names), self.dims["clap_text"]), dtype=np.float32)
        rows = [seen_rows[c["class_name"]] for c, s in zip(found, is_seen) if s]
        clip[is_seen], clap[is_seen] = self.clip_text[rows], self.clap_text[rows]
        new = [i for i, s in enumerate(is_seen) if not s]
        if new:
            if encode is None:
                raise PredictError(f"classes {[names[i] for i in new][:5]} are not training classes of "
                                   f"{self.describe()}: their text embeddings need the text encoders (or give them)")
            readable = [found[i]["readable_name"] if found[i] else names[i].strip() for i in new]
            clip_new, clap_new = encode(readable)
            if clip_new is not None:
                clip[new] = clip_new
            if clap_new is not None:
                clap[new] = clap_new
        return text_input(clip, clap, self.settings["text"]), is_seen

    @torch.no_grad()
    def rank(self, inputs: np.ndarray, class_text: np.ndarray, is_seen: np.ndarray,
             top_k: int) -> tuple[np.ndarray, np.ndarray]:
        """Columns of the ``top_k`` nearest classes per input row after calibration, and those distances."""
        self.check_rankable()
        cfg = self.model.config
        inputs, class_text = np.asarray(inputs, dtype=np.float32), np.asarray(class_text, dtype=np.float32)
        if inputs.ndim != 2 or inputs.shape[1] != cfg.input_dim:
            raise PredictError(f"inputs of shape {inputs.shape}: the model takes rows of {cfg.input_dim} "
                               f"({self.settings['modality']} features)")
        if class_text.ndim != 2 or class_text.shape[1] != cfg.text_dim or len(class_text) != len(is_seen):
            raise PredictError(f"class text of shape {class_text.shape}: the model takes one row of {cfg.text_dim} "
                               f"({self.settings['text']} text embeddings) per class")
        if top_k < 1:
            raise PredictError(f"top_k {top_k}: expected at least 1")
        method = get_method(getattr(self.model, "method_name", DEFAULT_METHOD))
        dist = rank_distances(method, self.model.eval(), torch.from_numpy(inputs), torch.from_numpy(class_text))
        cols, dist = ev.ranking(dist, torch.from_numpy(is_seen), self.beta, top_k)
        return cols.numpy(), dist.numpy()


def verify_weights(folder: Path, recorded: object) -> None:
    """Each weights file of a predictor folder has the SHA-256 its predictor.json records, or a :class:`PredictError`
    names the file (damaged, truncated, swapped) and what to do."""
    recorded = recorded if isinstance(recorded, dict) else {}
    for name in WEIGHTS_FILES:
        path, want = Path(folder) / name, recorded.get(name)
        if not isinstance(want, str):
            raise PredictError(f"{Path(folder) / PREDICTOR_FILE}: records no sha256 of {name}; {REFETCH}")
        if not path.is_file():
            raise PredictError(f"{path}: missing; {REFETCH}")
        if sha256_file(path) != want.lower():
            raise PredictError(f"{path}: damaged or changed (its SHA-256 is not the one {PREDICTOR_FILE} records); "
                               f"{REFETCH}")


def check_class_names(names: list[str]) -> None:
    """A class list: at least one non-empty name, none twice (case-insensitively)."""
    if not names:
        raise PredictError("no class names given: pass --classes NAME... or --classes-file FILE")
    blank = [i for i, n in enumerate(names) if not str(n).strip()]
    if blank:
        raise PredictError(f"class name #{blank[0] + 1} is empty")
    seen: dict[str, str] = {}
    for n in names:
        key = n.strip().lower()
        if key in seen:
            raise PredictError(f"class {n!r} is given twice (as {seen[key]!r}); names are compared case-insensitively")
        seen[key] = n


def ranking_table(names: list[str], is_seen: np.ndarray, cols: np.ndarray,
                  dist: np.ndarray) -> pa.Table:
    """One row per input row and rank: row, rank (1 = best), class_name, distance (calibrated), seen."""
    n, k = cols.shape
    flat = cols.reshape(-1)
    return pa.table({
        "row": pa.array(np.repeat(np.arange(n), k), pa.int32()),
        "rank": pa.array(np.tile(np.arange(1, k + 1), n), pa.int32()),
        "class_name": pa.array([names[c] for c in flat], pa.string()),
        "distance": pa.array(dist.reshape(-1).astype(np.float64), pa.float64()),
        "seen": pa.array(is_seen[flat], pa.bool_()),
    })
