"""Encoding runtimes and precisions for sentence-transformers models (bi-encoders and cross-encoders).

A run is (backend, precision): torch at fp32/bf16/fp16, OpenVINO at fp32 (when installed), ONNX Runtime at int8
(dynamic int8 MatMuls; graph exported once with torch.onnx, quantized with onnxruntime.quantization, kept under
cache_dir("models", "onnx") keyed by the model fingerprint). `auto` follows the hardware; see resolve().
OpenVINO precision is pinned to f32: on CPUs with bf16 units it would otherwise default to bf16.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import tempfile
from importlib.util import find_spec
from pathlib import Path
from typing import Callable

from hardneg.paths import cache_dir

log = logging.getLogger(__name__)
BACKENDS = ("torch", "openvino", "onnx")
PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
OV_CONFIG = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
INT8_FILE = "model_int8.onnx"
ONNX_VERSION = "v1"  # bump when the export or quantization recipe changes (part of the cached folder name)


def check_precision(precision: str | None) -> str:
    """The precision, or ValueError naming the valid choices (cheap: call it before any model loads)."""
    p = (precision or "auto").lower()
    if p not in PRECISIONS:
        raise ValueError(f"unknown precision '{precision}' (valid: {', '.join(PRECISIONS)})")
    return p


def use_precision(precision: str | None) -> str | None:
    """CLI helper: check --precision (ValueError starting `--precision:`) and make it the process default
    (HARDNEG_PRECISION), so every dense model of the command, judges included, uses it."""
    if precision is None:
        return None
    try:
        precision = check_precision(precision)
    except ValueError as e:
        raise ValueError(f"--precision: {e}") from None
    os.environ["HARDNEG_PRECISION"] = precision
    return precision


def installed(backend: str) -> bool:
    """Whether the runtime's packages can be imported here."""
    if backend == "torch":
        return True
    if backend == "openvino":
        return find_spec("openvino") is not None and find_spec("optimum") is not None \
            and find_spec("optimum.intel") is not None
    if backend == "onnx":
        return all(find_spec(m) is not None for m in ("onnxruntime", "onnx", "onnxscript"))
    return False


def int8_available() -> bool:
    """Whether an int8 runtime (ONNX Runtime + the ONNX exporter) is installed: the probe `auto` uses."""
    return installed("onnx")


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


VNNI = ("avx512_vnni", "avx_vnni", "amx_int8")  # int8 dot-product units


def _bf16_cpu(flags: frozenset[str]) -> bool:
    return "amx_bf16" in flags or "avx512_bf16" in flags


def best_backend() -> str:
    """The fastest installed fp32 backend; HARDNEG_BACKEND overrides."""
    env = os.environ.get("HARDNEG_BACKEND")
    if env:
        return env
    import torch

    if torch.cuda.is_available():  # a GPU beats any CPU runtime
        return "torch"
    return "openvino" if installed("openvino") else "torch"


def auto_precision(device: str | None = None) -> str:
    """fp16 on CUDA; bf16 on CPUs with AMX (or AVX512-bf16 and no int8 runtime); int8 on CPUs with int8
    dot-product units (VNNI/AMX) where ONNX Runtime is installed; else fp32. The flags behind the choice are logged.

    AVX2-only CPUs stay at fp32: there, dynamic int8 measured no faster than torch fp32 (docs/precision.md).
    """
    import torch

    if (device or "").startswith("cuda") or (device is None and torch.cuda.is_available()):
        log.info("precision auto -> fp16 (CUDA device)")
        return "fp16"
    flags = cpu_flags()
    seen = sorted(f for f in flags if f.startswith(("avx", "amx")) or f in ("fma", "f16c"))
    if "amx_bf16" in flags or (_bf16_cpu(flags) and not int8_available()):
        choice = "bf16"
    elif int8_available() and any(f in flags for f in VNNI):
        choice = "int8"
    else:
        choice = "fp32"
    log.info("precision auto -> %s (CPU flags: %s; int8 runtime %s)", choice, " ".join(seen) or "none read",
             "installed" if int8_available() else "not installed")
    return choice


def resolve(backend: str | None, precision: str | None, device: str | None = None) -> tuple[str, str]:
    """(backend, precision) to load: int8 runs on ONNX Runtime, bf16/fp16 on torch, fp32 on the given backend.

    Raises ValueError for unknown names and for int8 without its runtime (with the pip line to fix it).
    """
    p = check_precision(precision)
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"unknown encoding backend '{backend}' (valid: {', '.join(BACKENDS)})")
    gpu = bool(device) and device != "cpu"
    if p == "auto":
        p = auto_precision(device)
    if p == "int8":
        if gpu:
            raise ValueError("precision int8 runs on CPU only (use fp16 or bf16 on a GPU)")
        if not int8_available():
            raise ValueError("precision int8 needs ONNX Runtime (pip install onnxruntime onnx onnxscript)")
        return "onnx", p
    if p in ("bf16", "fp16") or gpu:
        return "torch", p
    b = backend or best_backend()
    return ("torch" if b == "onnx" else b), p


def export_once(dest: Path, marker: str, build: Callable[[Path], None]) -> Path:
    """Run build(tmp) in a temp folder beside dest and rename it into place, unless dest/marker exists."""
    if (dest / marker).exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        build(tmp)
        try:
            os.replace(tmp, dest)
        except OSError:  # another process finished first
            if not (dest / marker).exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _ov_folder(path: str, fp: str) -> Path:
    """The exported OpenVINO copy of a local sentence-transformers folder (exported once, atomically)."""
    from sentence_transformers import SentenceTransformer

    dest = cache_dir("models", "openvino") / f"{Path(path).name}-{fp}"

    def build(tmp: Path) -> None:
        log.info("exporting %s to OpenVINO IR in %s (once)", path, dest)
        SentenceTransformer(path, backend="openvino", device="cpu",
                            model_kwargs={"export": True, "ov_config": OV_CONFIG}).save(str(tmp))

    return export_once(dest, "openvino/openvino_model.xml", build)


def load_fast(path: str, backend: str, device: str | None = None, fp: str | None = None):
    """A SentenceTransformer running on OpenVINO (fp32); raises ValueError for unknown or missing backends.

    fp: the model folder's fingerprint (models.fingerprint), naming the exported copy."""
    if backend not in BACKENDS or backend == "torch":
        raise ValueError(f"unknown encoding backend '{backend}' (valid: {', '.join(BACKENDS)})")
    if not installed(backend):
        raise ValueError(f"backend '{backend}' is not installed (pip install openvino optimum-intel; "
                         f"or use backend='torch')")
    from sentence_transformers import SentenceTransformer

    ov_config = dict(OV_CONFIG)
    ov_config["CACHE_DIR"] = str(cache_dir("models", "openvino-compiled"))
    if Path(path).is_dir():
        folder = _ov_folder(path, fp or "local")
        return SentenceTransformer(str(folder), backend="openvino", device="cpu",
                                   model_kwargs={"ov_config": ov_config})
    return SentenceTransformer(path, backend="openvino", device="cpu",  # hub id: export at load
                               model_kwargs={"export": True, "ov_config": ov_config})
