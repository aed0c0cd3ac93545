"""Model assembly from split zip parts, the OpenVINO runtime switch, and the real mpnet (integration)."""

import zipfile
from pathlib import Path

import numpy as np
import pytest

from hardneg.models import runtime
from hardneg.models import load as models


def split_zip(tmp_path: Path, parts: int = 3) -> list[Path]:
    zpath = tmp_path / "m.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("all-mpnet-base-v2/modules.json", "[]")
        z.writestr("all-mpnet-base-v2/desktop.ini", "x")
        z.writestr("all-mpnet-base-v2/1_Pooling/config.json", "{}")
        z.writestr("all-mpnet-base-v2/model.safetensors", np.arange(5000).tobytes())
    data = zpath.read_bytes()
    step = len(data) // parts + 1
    out = []
    for i in range(parts):
        p = tmp_path / f"part.{i:03d}"
        p.write_bytes(data[i * step:(i + 1) * step])
        out.append(p)
    return out


def test_assemble_from_split_zip_is_complete_and_leaves_no_temp(tmp_path):
    dest = tmp_path / "models" / "all-mpnet-base-v2"
    got = models._assemble_mpnet(split_zip(tmp_path), dest)
    assert got == str(dest)
    assert (dest / "modules.json").read_text() == "[]" and (dest / "1_Pooling" / "config.json").exists()
    assert not (dest / "desktop.ini").exists()
    assert [p.name for p in dest.parent.iterdir()] == ["all-mpnet-base-v2"]


def test_assemble_failure_leaves_nothing(tmp_path):
    parts = split_zip(tmp_path)
    parts[1].write_bytes(b"garbage")
    dest = tmp_path / "models" / "all-mpnet-base-v2"
    with pytest.raises(Exception):
        models._assemble_mpnet(parts, dest)
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_fingerprint_tracks_weights_not_names(tmp_path, tiny_bert):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_bert, copy)
    assert models.fingerprint(str(copy)) == models.fingerprint(str(tiny_bert))
    cfg = copy / "config.json"
    cfg.write_text(cfg.read_text().replace("32", "33", 1))
    assert models.fingerprint(str(copy)) != models.fingerprint(str(tiny_bert))


def test_backend_choice(monkeypatch):
    monkeypatch.setenv("HARDNEG_BACKEND", "torch")
    assert runtime.best_backend() == "torch"
    with pytest.raises(ValueError, match="unknown encoding backend"):
        runtime.resolve("tensorrt", "fp32")


@pytest.mark.skipif(not runtime.installed("openvino"), reason="openvino is not installed")
def test_openvino_matches_torch(tiny_bert):
    texts = ["cats purr", "python is a programming language", "the capital of france"]
    a = models.load_sentence_transformer(str(tiny_bert), backend="torch").encode(texts, normalize_embeddings=True)
    b = models.load_sentence_transformer(str(tiny_bert), backend="openvino").encode(texts, normalize_embeddings=True)
    assert float(np.min(np.sum(a * b, 1))) > 0.9999


@pytest.mark.integration
def test_mpnet_assembles_once_into_user_cache():
    from platformdirs import user_cache_dir

    cache = Path(user_cache_dir("hardneg")) / "models"  # kept across runs, not the per-test cache
    path = Path(models.resolve_model("mpnet", cache=cache))
    assert path == cache / "all-mpnet-base-v2" and (path / "model.safetensors").stat().st_size > 400e6
    assert models.resolve_model("mpnet", cache=cache) == str(path)
    from sentence_transformers import SentenceTransformer

    emb = SentenceTransformer(str(path), device="cpu").encode(["a cat purrs", "a kitten purrs"])
    assert emb.shape == (2, 768)


def test_load_report_filter_hides_only_the_harmless_position_ids_row():
    import logging

    from hardneg.models.load import _QuietLoadReport

    def rec(body: str) -> logging.LogRecord:
        msg = "BertModel LOAD REPORT from: /m\nKey | Status |  | \n----+----+--+-\n" + body + "\n\nNotes:\n- x"
        return logging.LogRecord("transformers.modeling_utils", logging.WARNING, "f", 1, msg, None, None)

    f = _QuietLoadReport()
    assert not f.filter(rec("embeddings.position_ids | UNEXPECTED |  | "))
    assert f.filter(rec("embeddings.position_ids | UNEXPECTED |  | \nencoder.layer.0.weight | MISSING |  | "))
    assert f.filter(logging.LogRecord("t", logging.WARNING, "f", 1, "something else", None, None))
