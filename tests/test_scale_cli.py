"""`hardneg mine --engine`: bad engine names and unsupported Ray set-ups fail fast with a clear message."""

from __future__ import annotations

from typer.testing import CliRunner

from hardneg.cli import app


def test_unknown_engine_is_refused(tiny_beir, tmp_path):
    r = CliRunner().invoke(app, ["mine", "--data", str(tiny_beir), "--engine", "spark", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "--engine: 'spark' is not one of single, ray" in r.output


def test_ray_engine_refuses_bm25_before_starting_a_cluster(tiny_beir, tmp_path):
    import ray

    r = CliRunner().invoke(app, ["mine", "--data", str(tiny_beir), "--engine", "ray", "-r", "bm25",
                                 "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "one dense retriever with exact search" in r.output
    assert not ray.is_initialized()


def test_help_lists_engine_options():
    r = CliRunner().invoke(app, ["mine", "--help"], terminal_width=200)
    assert "--engine" in r.output and "--ray-address" in r.output
