"""The demo's HTML page: retrieval table and chart, the validation's counts and plots, and the caught false
negatives beside their positives. Reuses the validation report (plots, suspects) and the metric chart; texts are
escaped by Jinja2's autoescape."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from hardneg.data.jsonl import atomic_write, read_jsonl
from hardneg.evaluate.report import metric_keys, plot_metrics

TEMPLATE = "demo_report.html.j2"


def _png(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _cut(text: str | None, n: int = 350) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[:n] + "…"


def caught(vdir: Path, top: int = 15) -> tuple[dict, list[dict], list[Path]]:
    """The validation summary, its `top` most confident drops (texts cut to 350 characters) and its plots."""
    from hardneg.validate.report import suspects, write_report

    write_report(vdir.parent if vdir.name == "validation" else vdir, top=top)  # report.md + PNGs beside it
    summ = json.loads((vdir / "summary.json").read_text(encoding="utf-8"))
    judges = list(summ.get("units", {}))
    picks = []
    for r in suspects([r for _, r in read_jsonl(vdir / "audit.jsonl")], judges, top):
        scores = [(j, r[f"score_{j}"], r[f"pos_{j}"]) for j in judges
                  if r.get(f"score_{j}") is not None and r.get(f"pos_{j}") is not None]
        picks.append({"query": r["query"], "doc_id": r["doc_id"], "doc": _cut(r["doc"]), "rank": r["miner_rank"],
                      "positive_id": r.get("positive_id"), "positive": _cut(r.get("positive")),
                      "scores": scores, "rule": r["rule"]})
    return summ, picks, sorted(vdir.glob("hist_*.png"))  # drops per rule are in the table


def write_demo_report(out: str | Path, rows: list[dict], about: dict, vdir: str | Path | None = None,
                      extra_plots: list[Path] = ()) -> Path:
    """Write out/report.html (plots inlined, so the page stands alone) and out/report/metrics.png; return the path.

    rows: {'name', metric: value in [0, 1], ...} per model; about: title, slice and settings lines, seconds;
    vdir: a validation folder (summary.json + audit.jsonl) whose drops are shown.
    """
    import jinja2

    out = Path(out)
    keys = metric_keys(rows)
    mplots = [plot_metrics(rows, out / "report" / "metrics.png", title="test slice")] if rows and keys else []
    summ, picks, vplots = None, [], []
    if vdir is not None and (Path(vdir) / "summary.json").exists():
        summ, picks, vplots = caught(Path(vdir))
    inline = lambda ps: [{"name": Path(p).name, "src": _png(Path(p))} for p in ps if Path(p).exists()]  # noqa: E731
    env = jinja2.Environment(loader=jinja2.PackageLoader("hardneg.experiment", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    page = env.get_template(TEMPLATE).render(
        about=about, keys=keys, rows=rows, summary=summ, picks=picks,
        plots={"metrics": inline(mplots), "validation": inline(vplots), "more": inline(extra_plots)})
    path = out / "report.html"
    with atomic_write(path) as f:
        f.write(page)
    return path
