"""Front-ends over pipeline.run: `hardneg validate RUN_DIR` runs the pipeline's validate and export steps on the
run folder's own candidates and selection, so it gives what one pipeline run with the same judge gives."""

import json

import numpy as np
from typer.testing import CliRunner

from hardneg.cli import app


def test_validate_on_a_run_folder_equals_one_pipeline_run_with_the_judge(tiny_beir, tmp_path):
    base = ["mine", "--data", str(tiny_beir), "-r", "bm25", "-n", "2", "--depth", "10", "-f", "triplet"]
    r = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "plain")])
    assert r.exit_code == 0, r.output
    plain = tmp_path / "plain"
    z = np.load(plain / "candidates.npz")
    assert "sel_rows" not in z.files and (plain / "steps" / "select.npz").exists()  # the candidates, once
    r = CliRunner().invoke(app, ["validate", str(plain), "--judge", "dup:jaccard:0.3:1", "-f", "triplet"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, [*base, "--judge", "dup:jaccard:0.3:1", "--out", str(tmp_path / "judged")])
    assert r.exit_code == 0, r.output
    judged = tmp_path / "judged"
    for name in ("audit.jsonl", "audit.parquet"):
        assert (plain / "validation" / name).read_bytes() == (judged / "validation" / name).read_bytes(), name
    assert (plain / "validation" / "triplet.parquet").read_bytes() == (judged / "triplet.parquet").read_bytes()
    a, b = (json.loads((d / "validation" / "summary.json").read_text()) for d in (plain, judged))
    assert a == b and a["dropped"] > 0
    # the mine run's own exports and summary are left as they were
    assert json.loads((plain / "summary.json").read_text())["config"]["select"]["strategy"] == "top"
    assert "validation" not in json.loads((plain / "summary.json").read_text())
