"""PipelineConfig: built once from flags or YAML, specs parsed, errors name the file and key, round-trips."""

import pytest
from typer.testing import CliRunner

from hardneg.cli import app
from hardneg.pipeline.config_file import dump, load
from hardneg.pipeline.pipeline_config import ConfigError, PipelineConfig, from_dict
from hardneg.retrieve.spec import RetrieverSpec
from hardneg.select.spec import Strategy
from hardneg.validate.spec import JudgeSpec

runner = CliRunner()
FULL = {"data": {"path": "tiny", "split": "train"},
        "retrieve": {"retrievers": ["bm25", "dense:minilm"], "precision": "int8"},
        "select": {"strategy": "topk-percpos:0.95", "num_negatives": 3, "seed": 7},
        "validate": {"judges": ["dup:exact", "dup:jaccard:0.8"], "rules": ["dup=abs:0.9"], "combine": "all",
                     "review": "review.jsonl"},
        "export": {"formats": ["flag", "triplet"], "prompt": "p"}, "out": "run"}


def test_sections_hold_parsed_specs_and_round_trip_through_yaml(tmp_path):
    cfg = from_dict(FULL, "x.yaml")
    assert isinstance(cfg.select.strategy, Strategy) and cfg.select.strategy.perc == 0.95
    assert all(isinstance(j, JudgeSpec) for j in cfg.validate.judges)
    assert cfg.validate.judges[1].threshold == 0.8 and cfg.validate.rules[0].value == 0.9
    assert cfg.retrieve.precision == "int8" and cfg.validate.review == "review.jsonl"
    path = dump(cfg, tmp_path / "config.yaml")
    assert load(path) == cfg
    s = cfg.select
    assert (s.spec, s.num_negatives, s.seed, cfg.export.formats, cfg.out) == ("topk-percpos:0.95", 3, 7,
                                                                              ["flag", "triplet"], "run")
    assert from_dict({}) == PipelineConfig()
    with_train = from_dict({**FULL, "train": {"epochs": 1, "loss": "gist", "guide": "mpnet"},
                            "evaluate": {"baselines": ["bm25"]}})
    assert with_train.train.epochs == 1 and with_train.evaluate.split == "test"
    assert load(dump(with_train, tmp_path / "t.yaml")) == with_train


@pytest.mark.parametrize("bad, where", [
    ({"validate": {"judges": ["dup:exact", "nope:x"]}}, "validate.judges[1]: unknown judge 'nope'"),
    ({"validate": {"rules": ["perc:zz"]}}, "validate.rules[0]"),
    ({"selekt": {}}, "selekt: unknown section (choose from data, retrieve, select"),
    ({"select": {"num_negativs": 2}}, "select.num_negativs: unknown key (choose from num_negatives"),
    ({"select": {"strategy": "bogus"}}, "select.strategy: unknown strategy 'bogus' (choose from top"),
    ({"select": {"num_negatives": 0}}, "select.num_negatives: must be >= 1"),
    ({"retrieve": {"retrievers": ["bm25", "bm25"], "fusion": "avg"}}, "retrieve.fusion: 'avg' is not one of rrf"),
    ({"export": {"formats": ["csv"]}}, "export.formats: unknown format 'csv' (choose from triplet"),
    ({"retrieve": "bm25"}, "retrieve: must be a mapping"),
    ({"train": {"epochs": -1}}, "train.epochs: must be a positive number"),
    ({"validate": {"review": "r.jsonl"}}, "validate.review: needs at least one judge"),
    ({"retrieve": {"precision": "fp8"}}, "retrieve.precision: 'fp8' is not one of"),
    ({"select": {"num_negatives": "five"}}, "select.num_negatives: must be an integer, got 'five'"),
    ({"select": {"dedup_negatives": "yes"}}, "select.dedup_negatives: must be true or false"),
    ({"retrieve": {"depth": 1.5}}, "retrieve.depth: must be an integer"),
    ({"export": {"formats": 3}}, "export.formats: must be a list"),
    ({"train": {"loss": "bce"}}, "train.loss: 'bce' trains a reranker"),
    ({"train": {"los": "mnrl"}}, "train.los: unknown key (choose from model, loss"),
    ({"evaluate": {"split": "test"}}, "evaluate: scores the trained model: add a train section"),
    ({"train": {}, "evaluate": {"baselines": ["sparse:x"]}}, "evaluate.baselines[0]"),
    ({"retrieve": {"retrievers": ["bm25", "dense"]}},
     "retrieve.retrievers[1]: bad retriever spec 'dense' (valid forms: bm25, dense:minilm"),
    ({"retrieve": {"retrievers": "sparse:x"}}, "retrieve.retrievers[0]: bad retriever spec 'sparse:x'"),
    ({"retrieve": {"retrievers": {"a": 1}}}, "retrieve.retrievers: must be a list"),
    ({"retrieve": {"retrievers": []}}, "retrieve.retrievers: give at least one retriever"),
])
def test_bad_config_names_file_key_and_choices(bad, where):
    with pytest.raises(ConfigError) as e:
        from_dict(bad, "p.yaml")
    assert str(e.value).startswith("p.yaml: ") and where in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("text, kind, model", [("bm25", "bm25", ""), ("dense:minilm", "dense", "minilm"),
                                               (" dense: /m/x ", "dense", "/m/x"), ("dense:BAAI/bge", "dense", "BAAI/bge")])
def test_retriever_spec_parses_once_and_round_trips(text, kind, model):
    spec = RetrieverSpec.parse(text)
    assert (spec.kind, spec.model) == (kind, model)
    assert RetrieverSpec.parse(str(spec)) == spec and str(spec) == text.replace(" ", "")
    cfg = from_dict({"retrieve": {"retrievers": [text, "bm25"]}})
    assert cfg.retrieve.retrievers == [spec, RetrieverSpec("bm25")]
    assert cfg.to_dict()["retrieve"]["retrievers"] == [str(spec), "bm25"]
    assert [str(r) for r in cfg.retrieve.retrievers] == [str(spec), "bm25"]
    assert from_dict(cfg.to_dict()) == cfg


def test_cli_bad_file_exits_2_with_one_line(tmp_path):
    (tmp_path / "p.yaml").write_text("validate:\n  judges: [dup:exact, teacher]\n  combine: most\n")
    r = runner.invoke(app, ["run", str(tmp_path / "p.yaml")])
    assert r.exit_code == 2 and r.output.strip().startswith(f"error: {tmp_path / 'p.yaml'}: validate.combine")
    (tmp_path / "q.yaml").write_text("select: [1, 2\n")
    r = runner.invoke(app, ["mine", "--config", str(tmp_path / "q.yaml")])
    assert r.exit_code == 2 and "not valid YAML" in r.output and "line" in r.output
    r = runner.invoke(app, ["run", str(tmp_path / "missing.yaml")])
    assert r.exit_code == 2 and "cannot read" in r.output


def test_mine_config_file_with_flags_overriding_it(tiny_beir, tmp_path):
    out = tmp_path / "run"
    (tmp_path / "m.yaml").write_text(f"data: {{path: {tiny_beir}}}\nretrieve: {{retrievers: [bm25]}}\n"
                                     f"select: {{num_negatives: 3, strategy: top}}\nexport: {{formats: [flag]}}\n"
                                     f"out: {tmp_path / 'ignored'}\n")
    r = runner.invoke(app, ["mine", "--config", str(tmp_path / "m.yaml"), "-n", "2", "--out", str(out)])
    assert r.exit_code == 0, r.output
    cfg = load(out / "config.yaml")
    assert (cfg.select.num_negatives, cfg.retrieve.retrievers, cfg.export.formats) == (2, [RetrieverSpec("bm25")], ["flag"])
    assert cfg.out == str(out) and not (tmp_path / "ignored").exists()
    r = runner.invoke(app, ["mine", "--config", str(tmp_path / "m.yaml"), "--strategy", "zz", "--out", str(out)])
    assert r.exit_code == 2 and "select.strategy" in r.output


def test_flags_give_the_same_config_as_the_file(tiny_beir, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    r = runner.invoke(app, ["mine", "--data", str(tiny_beir), "-r", "bm25", "-n", "2", "-j", "dup:exact",
                            "-f", "flag", "--out", str(a)])
    assert r.exit_code == 0, r.output
    cfg = load(a / "config.yaml")
    cfg.out = str(b)
    dump(cfg, tmp_path / "b.yaml")
    r = runner.invoke(app, ["run", str(tmp_path / "b.yaml")])
    assert r.exit_code == 0, r.output
    assert (a / "flag.jsonl").read_bytes() == (b / "flag.jsonl").read_bytes()
    assert load(b / "config.yaml") == cfg
