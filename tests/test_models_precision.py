"""Precision choice, the fp32 check with its fallback, cache keys per precision, int8 on ONNX Runtime."""

import json
import logging
import os

import numpy as np
import pytest

from hardneg.paths import cache_dir
from hardneg.models import check, runtime
from hardneg.models import load as models
from hardneg.retrieve.cache import setup_key
from hardneg.retrieve.dense import DenseRetriever

from conftest import DOCS, QUERIES

TEXTS = [f"{t} {x}" for _, t, x in DOCS]
QTEXTS = [q for _, q in QUERIES]


def test_bad_precision_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"unknown precision 'int4' \(valid: auto, fp32, bf16, fp16, int8\)"):
        runtime.check_precision("int4")
    with pytest.raises(ValueError, match="unknown precision"):
        DenseRetriever("minilm", precision="fp64")  # refused at construction, nothing loaded


@pytest.mark.parametrize("flags,rt,want", [
    ({"avx2", "fma"}, "onnx", "fp32"),                     # AVX2 only: ONNX dynamic int8 measured no faster
    ({"avx2", "fma"}, "openvino", "fp32"),                 # AVX2 only: OpenVINO static int8 measured slower
    ({"avx2", "avx_vnni"}, "openvino", "int8"),            # static int8: kept only if the check measures it faster
    ({"avx2", "fma"}, None, "fp32"),                       # no int8 runtime installed
    ({"avx2", "avx512_vnni"}, None, "fp32"),
    ({"avx2", "avx512_vnni"}, "onnx", "int8"),
    ({"avx512_bf16", "amx_bf16", "amx_int8"}, "openvino", "bf16"),
    ({"avx512_bf16"}, None, "bf16"),
])
def test_auto_follows_flags_and_the_runtime_probe(monkeypatch, caplog, flags, rt, want):
    monkeypatch.setattr(runtime, "cpu_flags", lambda: frozenset(flags))
    monkeypatch.setattr(runtime, "installed", lambda b: b == "torch" or b == rt)
    with caplog.at_level(logging.INFO, logger="hardneg.models.runtime"):
        assert runtime.auto_precision("cpu") == want
    assert f"precision auto -> {want}" in caplog.text and sorted(flags)[0] in caplog.text
    assert f"int8 runtime: {rt or 'not installed'}" in caplog.text
    b, p = runtime.resolve(None, "auto", "cpu")
    assert p == want and b == (rt if want == "int8" else "torch")


def test_int8_without_runtime_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(runtime, "installed", lambda b: b == "torch")
    with pytest.raises(ValueError, match="needs OpenVINO or ONNX Runtime"):
        runtime.resolve(None, "int8", "cpu")
    with pytest.raises(ValueError, match="backend 'openvino' is not installed"):
        runtime.resolve("openvino", "fp32", "cpu")
    assert runtime.resolve("torch", "bf16", "cpu") == ("torch", "bf16")
    assert runtime.resolve(None, "fp16", "cuda") == ("torch", "fp16")


def test_top_overlap_and_sample():
    ref = np.array([[3.0, 2, 1, 0], [0, 1, 2, 3]])
    assert check.top_overlap(ref, ref, 2) == 1.0
    assert check.top_overlap(ref, -ref, 2) == 0.0
    assert check.sample(list("abcdefghij"), 3) == ["a", "e", "j"]
    assert check.pseudo_queries(["one two three four"], 1, words=2) == ["one two"]


def test_cache_keys_differ_by_precision(tiny_bert):
    a = models.load_sentence_transformer(str(tiny_bert), backend="torch", precision="fp32")
    b = models.load_sentence_transformer(str(tiny_bert), backend="torch", precision="fp16")
    assert a._hardneg_precision == "fp32" and b._hardneg_precision == "fp16"
    assert a._hardneg_fingerprint == b._hardneg_fingerprint
    assert setup_key(a, None, True) != setup_key(b, None, True)


def test_failed_check_falls_back_to_fp32_with_one_warning(tiny_bert, caplog):
    r = DenseRetriever(str(tiny_bert), precision="fp16", min_overlap=1.01, show_progress=False)
    with caplog.at_level(logging.WARNING, logger="hardneg.models.check"):
        emb = r.encode_docs(TEXTS)
    assert r.precision == "fp32" and r.model._hardneg_precision == "fp32"
    warn = [rec.getMessage() for rec in caplog.records if rec.levelno == logging.WARNING]
    assert len(warn) == 1 and "fp16 failed the fp32 check (top-10 overlap" in warn[0] and "min cosine" in warn[0]
    ref = DenseRetriever(str(tiny_bert), precision="fp32", show_progress=False).encode_docs(TEXTS)
    np.testing.assert_array_equal(emb, ref)
    rec = [json.loads(p.read_text()) for p in cache_dir("precision").glob("*-fp16.json")]
    assert len(rec) == 1 and {"min_cosine", "top10_overlap"} <= set(rec[0]) and rec[0]["docs"] == len(TEXTS)


def test_passing_check_keeps_the_reduced_precision_and_reuses_the_record(tiny_bert, monkeypatch):
    r = DenseRetriever(str(tiny_bert), precision="fp16", min_overlap=0.0, show_progress=False)
    r.encode_docs(TEXTS)
    assert r.precision == "fp16"
    monkeypatch.setattr(check, "encoder_agreement", lambda *a, **k: pytest.fail("measured twice"))
    r2 = DenseRetriever(str(tiny_bert), precision="fp16", min_overlap=0.0, show_progress=False)
    r2.encode_queries(QTEXTS)
    assert r2.precision == "fp16"


@pytest.mark.skipif(not runtime.installed("onnx"), reason="onnxruntime is not installed")
def test_int8_exports_once_and_tracks_fp32(tiny_bert, tiny_cross_encoder, caplog):
    from hardneg.validate.judges.cross import CrossEncoderJudge

    m = models.load_sentence_transformer(str(tiny_bert), backend="onnx", precision="int8")
    folders = list((cache_dir("models", "onnx")).iterdir())
    assert m._hardneg_precision == "int8" and len(folders) == 1 and (folders[0] / runtime.INT8_FILE).exists()
    ref = models.load_sentence_transformer(str(tiny_bert), backend="torch", precision="fp32")
    a = ref.encode(TEXTS, normalize_embeddings=True)
    b = m.encode(TEXTS, normalize_embeddings=True)
    assert float(np.min(np.sum(a * b, 1))) > 0.99
    j = CrossEncoderJudge(str(tiny_cross_encoder), precision="int8", cache=False)
    s = j.score_pairs(QTEXTS, TEXTS[:6])
    assert j.precision == "int8" and s.shape == (6,) and np.all((s > 0) & (s < 1))
    with caplog.at_level(logging.WARNING, logger="hardneg.models.check"):
        bad = CrossEncoderJudge(str(tiny_cross_encoder), precision="int8", cache=False)
        bad._checked = False
        bad.model, bad.precision = check.checked_scorer(bad.model, bad._load, QTEXTS, TEXTS[:6], bad._run, "x",
                                                        min_overlap=1.01)
    assert bad.precision == "fp32" and "int8 failed the fp32 check" in caplog.text and "max abs diff" in caplog.text


def test_auto_drops_a_reduced_precision_that_is_not_faster(tiny_bert, monkeypatch, caplog):
    real = check.encoder_agreement
    monkeypatch.setattr(check, "encoder_agreement", lambda *a, **k: {**real(*a, **k), "speedup": 0.9})
    m = models.load_sentence_transformer(str(tiny_bert), backend="torch", precision="fp16")
    m._hardneg_auto = True  # as if `auto` had chosen fp16
    with caplog.at_level(logging.INFO, logger="hardneg.models.check"):
        got, p = check.checked_encoder(m, lambda q: models.load_sentence_transformer(str(tiny_bert), backend="torch",
                                                                                     precision=q),
                                       TEXTS, QTEXTS, min_overlap=0.0)
    assert p == "fp32" and got._hardneg_precision == "fp32" and "0.90x fp32 speed" in caplog.text
    m._hardneg_auto = False  # asked for by name: speed is not required
    assert check.checked_encoder(m, lambda q: pytest.fail("fell back"), TEXTS, QTEXTS, min_overlap=0.0)[1] == "fp16"
    rec = json.loads(next(cache_dir("precision").glob("*-fp16.json")).read_text())
    assert rec["speedup"] == 0.9


@pytest.mark.skipif(not runtime.installed("openvino"), reason="openvino and nncf are not installed")
def test_openvino_int8_is_built_once_and_tracks_fp32(tiny_bert):
    m = models.load_sentence_transformer(str(tiny_bert), backend="openvino", precision="int8")
    folders = list(cache_dir("models", "openvino").iterdir())
    assert m._hardneg_precision == "int8" and [f.name.split("-")[-2:] for f in folders] == [["int8", "v1"]]
    assert m._hardneg_fingerprint.endswith("+openvino")
    f32 = models.load_sentence_transformer(str(tiny_bert), backend="openvino", precision="fp32")
    ref = models.load_sentence_transformer(str(tiny_bert), backend="torch", precision="fp32")
    assert len({setup_key(x, None, True) for x in (m, f32, ref)}) == 3
    a, b, c = (x.encode(TEXTS, normalize_embeddings=True) for x in (ref, f32, m))
    assert float(np.min(np.sum(a * b, 1))) > 0.9999 and float(np.min(np.sum(a * c, 1))) > 0.9
    models._load_st.cache_clear()
    again = models.load_sentence_transformer(str(tiny_bert), backend="openvino", precision="int8")
    np.testing.assert_array_equal(again.encode(TEXTS, normalize_embeddings=True), c)  # the cached copy
    assert len(list(cache_dir("models", "openvino").iterdir())) == 2


def test_cli_refuses_bad_precision_before_loading(tiny_beir, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from hardneg.cli import app

    monkeypatch.setattr(models, "_load_st", lambda *a: pytest.fail("a model was loaded"))
    res = CliRunner().invoke(app, ["mine", "--data", str(tiny_beir), "-o", str(tmp_path / "o"),
                                   "--precision", "int4"])
    assert res.exit_code == 2
    line = [ln for ln in res.output.splitlines() if "error" in ln]
    assert len(line) == 1 and "--precision" in line[0] and "'int4'" in line[0] and "auto, fp32, bf16, fp16, int8" in line[0]
    res = CliRunner().invoke(app, ["eval", "--data", str(tiny_beir), "--precision", "fp8"])
    assert res.exit_code == 2 and "--precision: unknown precision 'fp8'" in res.output
    res = CliRunner().invoke(app, ["validate", str(tmp_path), "-j", "teacher:minilm", "--precision", "fp8"])
    assert res.exit_code == 2 and "--precision: unknown precision 'fp8'" in res.output


def test_validate_precision_reaches_the_judges(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from hardneg.cli import app

    monkeypatch.setenv("HARDNEG_PRECISION", "fp32")  # restored after the test
    CliRunner().invoke(app, ["validate", str(tmp_path / "missing"), "-j", "dup:exact", "--precision", "bf16"])
    assert os.environ.get("HARDNEG_PRECISION") == "bf16"  # the default every judge model loads with
    assert models.default_precision() == "bf16"


def test_teacher_judge_gets_the_same_check(tiny_bert, monkeypatch):
    from hardneg.validate.judges.teacher import TeacherJudge

    monkeypatch.setenv("HARDNEG_PRECISION_MIN_OVERLAP", "1.01")
    j = TeacherJudge(str(tiny_bert), precision="fp16")
    assert j.precision == "fp16"
    s = j.score_pairs(QTEXTS, TEXTS[:6])
    assert j.precision == "fp32" and j.model._hardneg_precision == "fp32"
    ref = TeacherJudge(str(tiny_bert), precision="fp32").score_pairs(QTEXTS, TEXTS[:6])
    np.testing.assert_allclose(s, ref, atol=1e-6)


@pytest.mark.integration
@pytest.mark.skipif(not runtime.int8_available(), reason="no int8 runtime is installed")
def test_minilm_int8_is_checked_and_recorded(minilm_path):
    r = DenseRetriever(str(minilm_path), precision="int8", min_overlap=0.0, show_progress=False)
    emb = r.encode_docs(TEXTS)
    assert r.precision == "int8" and emb.shape == (len(TEXTS), 384)
    rec = json.loads(next(cache_dir("precision").glob("bi-*-int8.json")).read_text())
    assert rec["min_cosine"] > 0.95 and 0 <= rec["top10_overlap"] <= 1


def test_ray_encoder_takes_a_resolved_precision():
    from hardneg.scale.encode import encode_shards

    with pytest.raises(ValueError, match="resolved precision"):
        encode_shards([], "minilm", precision="auto")
    with pytest.raises(ValueError, match="unknown precision 'int4'"):
        encode_shards([], "minilm", precision="int4")
