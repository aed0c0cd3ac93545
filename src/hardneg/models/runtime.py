"""Encoding runtimes and precisions for sentence-transformers models (bi-encoders and cross-encoders).

A run is (backend, precision): torch at fp32/bf16/fp16; OpenVINO at fp32 or static int8 (NNCF post-training
quantization, models.openvino); ONNX Runtime at dynamic int8 (models.int8). Exported copies are built once
under cache_dir("models", ...) keyed by the model fingerprint. `auto` follows the hardware; see resolve().
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


log = logging.getLogger(__name__)
BACKENDS = ("torch", "openvino", "onnx")
PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
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
    """Whether the runtime's packages can be imported here (openvino: OpenVINO and NNCF)."""
    if backend == "torch":
        return True
    if backend == "openvino":
        return find_spec("openvino") is not None and find_spec("nncf") is not None
    if backend == "onnx":
        return all(find_spec(m) is not None for m in ("onnxruntime", "onnx", "onnxscript"))
    return False


def int8_runtime() -> str | None:
    """The int8 runtime to use: "openvino" (static int8) if installed, else "onnx" (dynamic int8), else None.
    Both need the torch.onnx exporter (onnx, onnxscript)."""
    if not all(find_spec(m) is not None for m in ("onnx", "onnxscript")):
        return None
    return next((b for b in ("openvino", "onnx") if installed(b)), None)


def int8_available() -> bool:
    """Whether an int8 runtime is installed: the probe `auto` uses."""
    return int8_runtime() is not None


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
    """The fp32 backend: torch (sentence-transformers' own numerics); HARDNEG_BACKEND overrides."""
    return os.environ.get("HARDNEG_BACKEND") or "torch"


def auto_precision(device: str | None = None) -> str:
    """fp16 on CUDA; bf16 on CPUs with AMX (or AVX512-bf16 and no int8 runtime); int8 where OpenVINO or ONNX
    Runtime is installed and the CPU has int8 dot-product units (VNNI/AMX), kept only if the check measures it
    faster than fp32 and agreeing with it; else fp32. The flags are logged.

    On AVX2-only CPUs both int8 runtimes measured no faster than torch fp32 (docs/precision.md), so `auto` does
    not build an int8 copy there; `--precision int8` still does.
    """
    import torch

    if (device or "").startswith("cuda") or (device is None and torch.cuda.is_available()):
        log.info("precision auto -> fp16 (CUDA device)")
        return "fp16"
    flags, rt = cpu_flags(), int8_runtime()
    seen = sorted(f for f in flags if f.startswith(("avx", "amx")) or f in ("fma", "f16c"))
    if "amx_bf16" in flags or (_bf16_cpu(flags) and rt is None):
        choice = "bf16"
    elif rt is not None and any(f in flags for f in VNNI):
        choice = "int8"
    else:
        choice = "fp32"
    log.info("precision auto -> %s (CPU flags: %s; int8 runtime: %s)", choice, " ".join(seen) or "none read",
             rt or "not installed")
    return choice


def resolve(backend: str | None, precision: str | None, device: str | None = None) -> tuple[str, str]:
    """(backend, precision) to load: int8 on OpenVINO or ONNX Runtime (int8_runtime(), or the given one),
    bf16/fp16 on torch, fp32 on the given backend (torch by default).

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
        rt = backend if backend in ("openvino", "onnx") and installed(backend) else int8_runtime()
        if rt is None:
            raise ValueError("precision int8 needs OpenVINO or ONNX Runtime "
                             "(pip install openvino nncf onnx onnxscript, or onnxruntime onnx onnxscript)")
        return rt, p
    if p in ("bf16", "fp16") or gpu:
        return "torch", p
    b = backend or best_backend()
    if b == "openvino" and not installed(b):
        raise ValueError("backend 'openvino' is not installed (pip install openvino nncf; or use backend='torch')")
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
