"""Dense retrieval on the tiny BERT, the embedding cache, FAISS, BM25, specs and model resolution."""

import numpy as np
import pytest

from hardneg.data.beir import load_beir
from hardneg.data.errors import DataError
from hardneg.models.load import resolve_model
from hardneg.retrieve import BM25Retriever, DenseRetriever, encode_cached, exact_topk, make_retriever
from hardneg.models.load import load_sentence_transformer


@pytest.fixture
def tiny(tiny_beir):
    return load_beir(tiny_beir, split="train")


def test_cache_hits_on_second_call_and_misses_on_new_prompt(tiny_bert):
    model = load_sentence_transformer(str(tiny_bert), backend="torch")
    texts = ["alpha beta", "gamma", "alpha beta", "delta epsilon"]
    a, st = encode_cached(model, texts, show_progress=False)
    assert (st.hits, st.misses) == (1, 3)  # the repeated text is encoded once
    b, st = encode_cached(model, texts, show_progress=False)
    assert (st.hits, st.misses) == (4, 0)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1, rtol=1e-5)
    direct = model.encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(a, direct, atol=1e-6)
    c, st = encode_cached(model, texts[:2] + ["new text"], prompt="query: ", show_progress=False)
    assert st.hits == 0 and st.misses == 3
    assert not np.allclose(c[0], a[0])
    _, st = encode_cached(model, texts, normalize=False, show_progress=False)
    assert st.misses == 3


def test_dense_search_and_score_pairs(tiny, tiny_bert):
    r = DenseRetriever(str(tiny_bert), backend="torch", show_progress=False)
    r.index(tiny.corpus)
    assert r.doc_emb.shape == (12, 32)
    run = r.search(tiny.queries, 5)
    assert run.indices.shape == (6, 5) and run.name == f"dense:{tiny_bert}"
    q_emb = r.encode_queries(tiny.queries.texts)
    ref_r, ref_s = exact_topk(q_emb, r.doc_emb, 5)
    np.testing.assert_array_equal(run.indices, ref_r)
    qr = np.repeat(np.arange(6), 5).reshape(6, 5)
    np.testing.assert_allclose(r.score_pairs(tiny.queries, qr, run.indices), run.scores, atol=1e-6)
    r2 = DenseRetriever(str(tiny_bert), backend="torch", show_progress=False)
    r2.index(tiny.corpus)
    assert r2.cache_stats.hits == 12 and r2.cache_stats.misses == 0


def test_faiss_flat_equals_exact_on_random_vectors():
    from hardneg.retrieve.faiss_index import build_index, search_index

    rng = np.random.default_rng(0)
    d = rng.standard_normal((2000, 16), dtype=np.float32)
    q = rng.standard_normal((50, 16), dtype=np.float32)
    r, s = search_index(build_index(d, "flat"), q, 10)
    ref_r, ref_s = exact_topk(q, d, 10)
    np.testing.assert_array_equal(r, ref_r)
    np.testing.assert_allclose(s, ref_s, rtol=1e-5)
    r, _ = search_index(build_index(d, "ivf"), q, 10)  # approximate: most of the exact top-10
    assert np.mean([len(set(a) & set(b)) for a, b in zip(r, ref_r)]) > 5


def test_dense_faiss_searches_are_deterministic(tiny, tiny_bert):
    for kind in ("faiss-flat", "faiss-ivf", "faiss-hnsw"):
        r = DenseRetriever(str(tiny_bert), backend="torch", search=kind, show_progress=False)
        r.index(tiny.corpus)
        a, b = r.search(tiny.queries, 20), r.search(tiny.queries, 20)
        np.testing.assert_array_equal(a.indices, b.indices)
        assert (a.indices[:, 12:] == -1).all() and (a.indices[:, :12] >= 0).all()


def test_bm25_ranks_obvious_doc_first(tiny):
    r = BM25Retriever()
    r.index(tiny.corpus)
    run = r.search(tiny.queries, 3)
    top = [tiny.corpus.ids[i] for i in run.indices[:, 0]]
    assert top[:5] == ["d1", "d4", "d7", "d10", "d11"]
    assert (run.scores[:, 0] > 0).all()
    qr = np.repeat(np.arange(6), 3).reshape(6, 3)
    ok = run.indices >= 0
    pairs = r.score_pairs(tiny.queries, qr[ok], run.indices[ok])
    np.testing.assert_allclose(pairs, run.scores[ok], rtol=1e-6)


def test_bm25_matches_bm25s_scores(tiny):
    import bm25s

    r = BM25Retriever()
    r.index(tiny.corpus)
    ids = r._tok.tokenize(tiny.queries.texts, update_vocab=False, return_as="ids", show_progress=False)
    ref = bm25s.BM25(k1=0.9, b=0.4, method="lucene")
    ref.index(r._tok.tokenize(tiny.corpus.full_texts(), update_vocab=False, return_as="tuple",
                              show_progress=False), show_progress=False)
    full = r.score_pairs(tiny.queries, np.repeat(np.arange(6), 12), np.tile(np.arange(12), 6)).reshape(6, 12)
    for i, q in enumerate(ids):
        np.testing.assert_allclose(full[i], ref.get_scores_from_ids(q), rtol=1e-5)


def test_specs():
    assert isinstance(make_retriever("bm25", k1=1.2), BM25Retriever)
    d = make_retriever("dense:minilm", backend="torch", search="faiss-flat", k1=3)
    assert isinstance(d, DenseRetriever) and d.name == "dense:minilm"
    for bad in ["", "bm25:x", "dense", "dense:", "sparse:foo"]:
        with pytest.raises(ValueError, match="valid forms"):
            make_retriever(bad)


def test_resolve_model_paths(tmp_path, tiny_bert):
    assert resolve_model(str(tiny_bert)) == str(tiny_bert.resolve())
    assert resolve_model("BAAI/bge-small-en-v1.5") == "BAAI/bge-small-en-v1.5"
    for bad in [str(tmp_path / "nope"), "./missing-model", "~/no/such/model"]:
        with pytest.raises(DataError, match="does not exist"):
            resolve_model(bad)
    with pytest.raises(ValueError):
        resolve_model("")


@pytest.mark.integration
def test_minilm_resolves_loads_and_encodes(minilm_path):
    path = resolve_model("minilm")
    assert path == str(minilm_path)
    model = load_sentence_transformer("minilm", backend="torch")
    assert load_sentence_transformer("minilm", backend="torch") is model
    emb, st = encode_cached(model, ["a cat purrs", "a kitten purrs", "tax law"], show_progress=False)
    assert emb.shape == (3, 384) and st.misses == 3
    assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.2
