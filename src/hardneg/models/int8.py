"""int8 on CPU: the model's transformer exported with torch.onnx, its MatMuls quantized to int8 by ONNX Runtime.

Only the transformer forward moves to ONNX Runtime; tokenization, pooling and normalisation stay the
sentence-transformers modules, so an int8 model is still a SentenceTransformer / CrossEncoder. Weights are
quantized per channel; activations dynamically per batch (no calibration data). On CPUs without VNNI the
weights use a reduced 7-bit range (ONNX Runtime's advice against int16 saturation in AVX2 kernels).
"""

from __future__ import annotations

import inspect
import logging
import warnings
from pathlib import Path

import numpy as np
import torch

from hardneg.paths import cache_dir
from hardneg.models.runtime import INT8_FILE, ONNX_VERSION, cpu_flags, export_once

log = logging.getLogger(__name__)


class GraphForward(torch.nn.Module):
    """Stands in for the transformers model inside the sentence-transformers Transformer module: feeds the
    token tensors named in `inputs` to run() (an exported graph) and returns its output under output_name."""

    def __init__(self, config, output_name: str, inputs: list[str]):
        super().__init__()
        self.config, self.output_name, self.inputs = config, output_name, inputs
        self.register_buffer("_anchor", torch.zeros(1), persistent=False)  # gives the module a device

    def run(self, feed: dict) -> np.ndarray:
        raise NotImplementedError

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, **_) -> dict:
        given = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
        if given["token_type_ids"] is None:
            given["token_type_ids"] = torch.zeros_like(input_ids)
        feed = {k: given[k].detach().cpu().numpy().astype(np.int64) for k in self.inputs}
        return {self.output_name: torch.from_numpy(np.asarray(self.run(feed)))}


class OrtForward(GraphForward):
    """The transformer forward on ONNX Runtime."""

    def __init__(self, onnx_path: Path, config, output_name: str):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = torch.get_num_threads()
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy-wait on shared CPUs
        session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        super().__init__(config, output_name, [i.name for i in session.get_inputs()])
        self.session = session

    def run(self, feed: dict) -> np.ndarray:
        return self.session.run(None, feed)[0]


class _Export(torch.nn.Module):
    def __init__(self, model, names: list[str], output: str):
        super().__init__()
        self.model, self.names, self.output = model, names, output

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        args = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
        return self.model(**{k: args[k] for k in self.names}, return_dict=True)[self.output]


def text_transformer(model):
    """(the first module, its output name); ValueError for models int8 export does not cover."""
    first = model[0]
    out = getattr(first, "modality_config", {}).get("text", {}).get("method_output_name")
    if not hasattr(first, "model") or not isinstance(out, str):
        raise ValueError("int8 covers text transformer models only (use --precision fp32)")
    return first, out


def export_onnx(model, path: Path) -> None:
    """Export the model's transformer forward (dynamic batch and length) to an fp32 ONNX file at path."""
    first, out = text_transformer(model)
    hf = first.model.eval()
    params = inspect.signature(hf.forward).parameters
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in params]
    example = tuple(torch.ones(2, 16, dtype=torch.long) if n != "token_type_ids" else
                    torch.zeros(2, 16, dtype=torch.long) for n in names)
    axes = {n: {0: "batch", 1: "seq"} for n in names}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on axis names and deprecations
        torch.onnx.export(_Export(hf, names, out).eval(), example, str(path), input_names=names, output_names=[out],
                          dynamic_axes=axes, dynamo=True, verbose=False)


def _build(model, dest: Path) -> None:
    """Export the transformer to ONNX and quantize it into dest/INT8_FILE."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32 = dest / "fp32" / "model.onnx"
    fp32.parent.mkdir()
    export_onnx(model, fp32)
    import onnx

    graph = onnx.load(str(fp32))
    del graph.graph.value_info[:]  # the exporter's shape hints can trip the quantizer's shape inference
    clean = fp32.with_name("clean.onnx")
    onnx.save(graph, str(clean), save_as_external_data=True, location="clean.onnx.data")
    quantize_dynamic(str(clean), str(dest / INT8_FILE), weight_type=QuantType.QInt8, per_channel=True,
                     reduce_range="avx512_vnni" not in cpu_flags() and "avx_vnni" not in cpu_flags(),
                     op_types_to_quantize=["MatMul"])
    for f in fp32.parent.iterdir():
        f.unlink()
    fp32.parent.rmdir()


def to_int8(model, fp: str, name: str):
    """Swap the model's transformer for its int8 ONNX Runtime copy (exported once per fingerprint)."""
    first, out = text_transformer(model)
    dest = cache_dir("models", "onnx") / f"{Path(name).name}-{fp}-{ONNX_VERSION}"
    if not (dest / INT8_FILE).exists():
        log.info("exporting %s to int8 ONNX in %s (once)", name, dest)
    export_once(dest, INT8_FILE, lambda tmp: _build(model, tmp))
    first.model = OrtForward(dest / INT8_FILE, first.model.config, out)
    return model
