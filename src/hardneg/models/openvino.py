"""OpenVINO on CPU: fp32, and static int8 quantized by NNCF post-training quantization.

The model's transformer is exported to ONNX (models.int8.export_onnx), read by OpenVINO and, for int8,
quantized by `nncf.quantize` (transformer preset: SmoothQuant, mixed symmetric weights / asymmetric
activations, fast bias correction) on a fixed calibration sample: the texts in calibration.txt shipped with
hardneg, tokenized by the model's own tokenizer at up to CALIB_LEN tokens. Same model -> same quantized copy.
Each copy is built once, atomically, under cache_dir("models", "openvino") keyed by the model fingerprint.
Tokenization, pooling and normalisation stay the sentence-transformers modules.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from hardneg.models.int8 import GraphForward, export_onnx, text_transformer
from hardneg.models.runtime import export_once
from hardneg.paths import cache_dir

log = logging.getLogger(__name__)
OV_VERSION = "v1"  # bump when the export or quantization recipe changes (part of the cached folder name)
XML = "model.xml"
CALIB_LEN, CALIB_BATCH = 128, 8
# f32 for every op the int8 graph keeps in float: CPUs with bf16 units would otherwise run those in bf16
OV_CONFIG = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}


def calibration_texts() -> list[str]:
    """The fixed calibration sample (passages and queries from many domains), one text per line."""
    path = Path(__file__).with_name("calibration.txt")
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


class OvForward(GraphForward):
    """The transformer forward on OpenVINO (CPU plugin)."""

    def __init__(self, xml: Path, config, output_name: str):
        import openvino as ov

        opts = dict(OV_CONFIG, INFERENCE_NUM_THREADS=torch.get_num_threads(),
                    CACHE_DIR=str(cache_dir("models", "openvino-compiled")))
        compiled = ov.Core().compile_model(str(xml), "CPU", opts)
        super().__init__(config, output_name, [p.get_any_name() for p in compiled.inputs])
        self.compiled = compiled

    def run(self, feed: dict) -> np.ndarray:
        return self.compiled.create_infer_request().infer(feed)[self.compiled.outputs[0]]


def _features(model, texts: list[str]) -> dict:
    """Token ids for `texts` at up to CALIB_LEN tokens, as numpy int64."""
    native = model.max_seq_length
    model.max_seq_length = min(native, CALIB_LEN)
    try:
        prep = getattr(model, "preprocess", None) or model.tokenize
        f = prep(texts)
    finally:
        model.max_seq_length = native
    return {k: v.numpy().astype(np.int64) for k, v in f.items() if k in ("input_ids", "attention_mask",
                                                                           "token_type_ids")}


def _build(model, dest: Path, int8: bool) -> None:
    """Export to ONNX, convert to OpenVINO IR and (int8) quantize with NNCF into dest/XML."""
    import openvino as ov

    onnx = dest / "onnx" / "model.onnx"
    onnx.parent.mkdir()
    export_onnx(model, onnx)
    ov_model = ov.convert_model(str(onnx))
    if int8:
        import nncf

        texts = calibration_texts()
        names = [p.get_any_name() for p in ov_model.inputs]
        batches = []
        for i in range(0, len(texts), CALIB_BATCH):
            f = _features(model, texts[i:i + CALIB_BATCH])
            f.setdefault("token_type_ids", np.zeros_like(f["input_ids"]))
            batches.append({k: f[k] for k in names})
        ov_model = nncf.quantize(ov_model, nncf.Dataset(batches), model_type=nncf.ModelType.TRANSFORMER,
                                 preset=nncf.QuantizationPreset.MIXED, subset_size=len(batches))
    ov.save_model(ov_model, str(dest / XML), compress_to_fp16=False)
    for f in onnx.parent.iterdir():
        f.unlink()
    onnx.parent.rmdir()


def to_openvino(model, fp: str, name: str, precision: str):
    """Swap the model's transformer for its OpenVINO copy at fp32 or int8 (built once per fingerprint)."""
    if precision not in ("fp32", "int8"):
        raise ValueError(f"OpenVINO runs fp32 or int8, not {precision}")
    first, out = text_transformer(model)
    dest = cache_dir("models", "openvino") / f"{Path(name).name}-{fp}-{precision}-{OV_VERSION}"
    if not (dest / XML).exists():
        log.info("exporting %s to OpenVINO %s in %s (once)", name, precision, dest)
    with torch.no_grad():
        export_once(dest, XML, lambda tmp: _build(model, tmp, precision == "int8"))
    first.model = OvForward(dest / XML, first.model.config, out)
    return model
