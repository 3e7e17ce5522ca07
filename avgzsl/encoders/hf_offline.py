"""Hugging Face hub handling: offline mode, cache lookups, fast failures.

Traps this module exists for (measured with laion_clap 1.1.7, transformers 5.x,
huggingface_hub 2.x):

* ``import laion_clap`` loads the ``bert-base-uncased``, ``roberta-base`` and
  ``facebook/bart-base`` tokenizers from the hub *at import time*. Without
  network and without ``HF_HUB_OFFLINE=1`` the import hangs in retries for
  minutes. :func:`import_laion_clap` imports it with offline mode on, unless the
  user explicitly set ``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE``.
* Offline, recent transformers returns an EMPTY tokenizer (5 special tokens)
  instead of raising when the files are not cached. :func:`check_text_tokenizer`
  detects that and raises :class:`EncoderError` with the fix.
* huggingface_hub reads ``HF_HUB_OFFLINE`` / ``HF_HUB_CACHE`` once, at import.
  :func:`hub_mode` and :func:`apply_hub_env` therefore also patch the already
  imported ``huggingface_hub.constants``.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
import warnings
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .base import EncoderError

OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_TRUE = {"1", "on", "yes", "true"}
_LOCK = threading.RLock()


def offline_explicitly_set() -> bool | None:
    """``True``/``False`` if the user set an offline variable, ``None`` if not."""
    values = [os.environ[v] for v in OFFLINE_VARS if os.environ.get(v, "").strip()]
    if not values:
        return None
    return any(v.strip().lower() in _TRUE for v in values)


def is_offline() -> bool:
    """Offline as huggingface_hub sees it (patched constants win over env)."""
    hub_constants = sys.modules.get("huggingface_hub.constants")
    if hub_constants is not None:
        return bool(hub_constants.HF_HUB_OFFLINE)
    return bool(offline_explicitly_set())


def _patch_constants(offline: bool | None, hub_cache: str | None) -> dict:
    saved: dict = {}
    hub_constants = sys.modules.get("huggingface_hub.constants")
    if hub_constants is None:
        return saved
    if offline is not None:
        saved["HF_HUB_OFFLINE"] = hub_constants.HF_HUB_OFFLINE
        hub_constants.HF_HUB_OFFLINE = offline
    if hub_cache is not None:
        saved["HF_HUB_CACHE"] = hub_constants.HF_HUB_CACHE
        hub_constants.HF_HUB_CACHE = hub_cache
    return saved


def apply_hub_env(offline: bool | None = None, hub_cache: str | os.PathLike | None = None) -> Callable[[], None]:
    """Set offline mode and/or the hub cache folder for this process.

    Works before *and* after huggingface_hub was imported. Returns a function
    that restores the previous state.
    """
    with _LOCK:
        old_env = {k: os.environ.get(k) for k in (*OFFLINE_VARS, "HF_HUB_CACHE")}
        cache = None if hub_cache is None else str(hub_cache)
        if offline is not None:
            for var in OFFLINE_VARS:
                os.environ[var] = "1" if offline else "0"
        if cache is not None:
            os.environ["HF_HUB_CACHE"] = cache
        saved = _patch_constants(offline, cache)

    def restore() -> None:
        with _LOCK:
            for key, value in old_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            hub_constants = sys.modules.get("huggingface_hub.constants")
            if hub_constants is None:
                return
            for key, value in saved.items():
                setattr(hub_constants, key, value)
            # huggingface_hub was imported *inside* the window: it read our temporary
            # env at import; recompute its constants from the restored env.
            if offline is not None and "HF_HUB_OFFLINE" not in saved:
                hub_constants.HF_HUB_OFFLINE = bool(offline_explicitly_set())
            if cache is not None and "HF_HUB_CACHE" not in saved:
                hub_constants.HF_HUB_CACHE = os.path.expandvars(os.path.expanduser(
                    os.getenv("HF_HUB_CACHE", hub_constants.HUGGINGFACE_HUB_CACHE)))

    return restore


@contextlib.contextmanager
def hub_mode(offline: bool) -> Iterator[None]:
    """Temporarily force hub offline mode on or off."""
    restore = apply_hub_env(offline=offline)
    try:
        yield
    finally:
        restore()


def import_laion_clap():
    """Import ``laion_clap`` without its import-time hub hang.

    Offline mode is forced for the duration of the import unless the user set
    ``HF_HUB_OFFLINE`` explicitly (``HF_HUB_OFFLINE=0`` lets laion_clap fetch its
    three tokenizers at import, which needs network). The tokenizers it creates
    at import are never used by avgzsl; we load and check our own.
    """
    if "laion_clap" in sys.modules:
        return sys.modules["laion_clap"]
    explicit = offline_explicitly_set()
    ctx = hub_mode(offline=True) if explicit is None else contextlib.nullcontext()
    with _LOCK, ctx, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import laion_clap  # noqa: F401  (heavy: torch, librosa, timm, transformers)
    return sys.modules["laion_clap"]


def default_hub_cache() -> str:
    hub_constants = sys.modules.get("huggingface_hub.constants")
    if hub_constants is not None:
        return hub_constants.HF_HUB_CACHE
    from huggingface_hub import constants

    return constants.HF_HUB_CACHE


def download_hint(repo_id: str, filenames: Sequence[str], cache_dir: str | os.PathLike | None) -> str:
    target = f", cache_dir={str(cache_dir)!r}" if cache_dir else ""
    if len(filenames) == 1:
        call = f"hf_hub_download; print(hf_hub_download({repo_id!r}, {filenames[0]!r}{target}))"
    else:
        call = f"snapshot_download; print(snapshot_download({repo_id!r}, allow_patterns={list(filenames)!r}{target}))"
    where = f" ({cache_dir})" if cache_dir else " (~/.cache/huggingface/hub unless HF_HUB_CACHE is set)"
    return (
        f"on a machine with internet run\n  python -c \"from huggingface_hub import {call}\"\n"
        f"then copy that cache folder{where} to the same place on this machine"
    )


def check_text_tokenizer(tokenizer, repo_id: str, probe: str = "a dog") -> None:
    """Raise :class:`EncoderError` if ``tokenizer`` is the silent empty fallback."""
    try:
        ids = list(tokenizer(probe)["input_ids"])
        size = len(tokenizer)
    except Exception as exc:  # pragma: no cover - defensive
        raise EncoderError(f"The {repo_id!r} tokenizer is unusable: {exc}") from exc
    specials = set(getattr(tokenizer, "all_special_ids", []) or [])
    content = [i for i in ids if i not in specials]
    unk = getattr(tokenizer, "unk_token_id", None)
    if size > 10 and len(ids) > 2 and content and any(i != unk for i in content):
        return
    raise EncoderError(
        f"The {repo_id!r} tokenizer loaded from the Hugging Face cache is EMPTY "
        f"(vocab size {size}; {probe!r} -> {ids}). transformers silently returns an empty "
        f"tokenizer when its files are not cached and offline mode is on "
        f"(HF_HUB_OFFLINE={os.environ.get('HF_HUB_OFFLINE', '<unset>')}, "
        f"HF_HUB_CACHE={default_hub_cache()}).\nFix: "
        + download_hint(repo_id, ["vocab.json", "merges.txt", "config.json", "tokenizer_config.json"], None)
        + " (or point HF_HUB_CACHE at it); or run once with network access and HF_HUB_OFFLINE=0."
    )


def hub_reachable(timeout: float = 3.0) -> bool:
    """One short request to the hub endpoint: no retries, no long hangs."""
    if is_offline():
        return False
    try:
        from huggingface_hub import constants
        from huggingface_hub.utils import get_session

        get_session().head(constants.ENDPOINT, timeout=timeout)
        return True
    except Exception:
        return False


def cached_hub_file(repo_id: str, filename: str, cache_dirs: Sequence[str | os.PathLike | None]) -> str | None:
    from huggingface_hub import try_to_load_from_cache

    for cache_dir in cache_dirs:
        found = try_to_load_from_cache(repo_id, filename, cache_dir=None if cache_dir is None else str(cache_dir))
        if isinstance(found, str) and Path(found).is_file():
            return found
    return None


def fetch_hub_file(
    repo_id: str,
    filenames: Sequence[str],
    cache_dir: str | os.PathLike | None,
    *,
    what: str,
    local_alternative: str,
) -> str:
    """Return a local path for the first of ``filenames`` found in ``repo_id``.

    Looks in ``cache_dir`` and the default hub cache first; downloads into
    ``cache_dir`` only when online. Fails fast (no retry loops) when offline or
    when the hub cannot be reached, with a message naming the fix.
    """
    dirs: list[str | None] = [str(cache_dir)] if cache_dir else []
    default = default_hub_cache()
    if default not in dirs:
        dirs.append(default)
    for name in filenames:
        path = cached_hub_file(repo_id, name, dirs)
        if path:
            return path
    fix = download_hint(repo_id, list(filenames), cache_dir) + f"; or {local_alternative}."
    where = " and ".join(d for d in dirs if d)
    if is_offline():
        raise EncoderError(
            f"{what}: {repo_id}/{filenames[-1]} is not in the local cache ({where}) and offline mode "
            f"(HF_HUB_OFFLINE=1) forbids downloading.\nFix: {fix}"
        )
    if not hub_reachable():
        raise EncoderError(
            f"{what}: {repo_id}/{filenames[-1]} is not cached ({where}) and the hub cannot be reached "
            f"(no network?).\nFix: {fix} Set HF_HUB_OFFLINE=1 to skip the network probe."
        )
    from huggingface_hub import hf_hub_download

    last: Exception | None = None
    for name in filenames:
        try:
            return hf_hub_download(repo_id, name, cache_dir=None if cache_dir is None else str(cache_dir))
        except Exception as exc:  # try the next candidate name
            last = exc
    raise EncoderError(f"{what}: downloading {repo_id}/{filenames[-1]} failed: {last}\nFix: {fix}")
