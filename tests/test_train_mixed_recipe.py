"""The `mixed` recipe: hardneg's (validated) negatives with seeded random ones beside them."""

import pytest

from hardneg.data.beir import load_beir
from hardneg.data.errors import DataError
from hardneg.experiment.recipes import Recipe, build, hardneg_groups


def _recipe(**kw):
    return Recipe("mx", kind="mixed", num_negatives=4, retrievers=["bm25"], strategy="top", **kw)


def test_mixed_recipe_mixes_hard_and_random_negatives(tiny_beir):
    ds = load_beir(tiny_beir, "train")
    hard = hardneg_groups(ds, Recipe("hn", kind="hardneg", num_negatives=4, retrievers=["bm25"], strategy="top"),
                          seed=3)
    g = build(ds, _recipe(random_share=0.5), seed=3)
    assert g.anchors == hard.anchors and g.positives == hard.positives
    texts = ds.corpus.full_texts()
    own_pos = {ds.queries.text(q): {texts[ds.corpus.index(d)] for d in docs} for q, docs in ds.positives().items()}
    n_rand = n_hard = 0
    for i, negs in enumerate(g.negatives):
        assert len(negs) == 4 and len(set(negs)) == 4
        assert not set(negs) & own_pos[g.anchors[i]]  # never a positive of its own query
        own = hard.negatives[i]
        n_hard += sum(t in own for t in negs)
        n_rand += sum(t not in own for t in negs)
        kept_hard = [t for t in negs if t in own]
        assert kept_hard == own[:len(kept_hard)]  # hard negatives keep their miner order
    assert n_rand > 0 and n_hard > 0
    again = build(ds, _recipe(random_share=0.5), seed=3)
    assert again.negatives == g.negatives  # seeded
    assert all(s is None for i, s in enumerate(g.neg_scores) if any(t not in hard.negatives[i] for t in g.negatives[i]))


@pytest.mark.parametrize("share", [0.0, 1.0, "half"])
def test_mixed_recipe_checks_its_share(share):
    with pytest.raises(DataError, match="random_share"):
        _recipe(random_share=share)


def test_st_mine_recipe_caches_its_embeddings_per_model(tiny_beir, tiny_bert, tmp_path, monkeypatch):
    """mine_hard_negatives' own embedding cache, in a folder per model fingerprint; a rerun reads it back and
    gives the same negatives."""
    from hardneg.experiment.recipes import st_mine_groups
    from hardneg.models.load import fingerprint

    monkeypatch.setenv("HARDNEG_CACHE", str(tmp_path / "cache"))
    ds = load_beir(tiny_beir, "train")
    recipe = Recipe("st", kind="st-mine", num_negatives=2, model=str(tiny_bert),
                    st={"range_min": 0, "range_max": 8, "max_score": None, "relative_margin": None,
                        "sampling_strategy": "top"})
    first = st_mine_groups(ds, recipe)
    folder = tmp_path / "cache" / "st-mine" / fingerprint(str(tiny_bert))
    saved = sorted(p.name.split("_")[0] for p in folder.glob("*.npy"))
    assert saved == ["corpus", "query"]
    again = st_mine_groups(ds, recipe)
    assert again.negatives == first.negatives and first.n_negatives() > 0
