"""`hardneg report`: a markdown page with score histograms, drop counts and the most confident suspected false
negatives beside their positive, from a validation folder (summary.json + audit.jsonl)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np

from hardneg.data.errors import DataError
from hardneg.data.jsonl import atomic_write, read_jsonl


def validation_dir(run_dir: str | Path) -> Path:
    """The folder holding summary.json and audit.jsonl: RUN_DIR/validation, or RUN_DIR itself."""
    run_dir = Path(run_dir)
    for d in (run_dir / "validation", run_dir):
        if (d / "summary.json").exists() and (d / "audit.jsonl").exists():
            return d
    raise DataError("no validation results (summary.json + audit.jsonl); run `hardneg validate` first", run_dir)


def suspects(rows: list[dict], judges: list[str], top: int = 20) -> list[dict]:
    """The `top` most confident drops: most rules agreeing first, then the highest mean score percentile
    across judges (percentiles make CE logits, cosines and P(yes) comparable)."""
    if not rows:
        return []
    pct = np.zeros(len(rows))
    for j in judges:
        s = np.array([np.nan if r.get(f"score_{j}") is None else r[f"score_{j}"] for r in rows], dtype=float)
        ok = ~np.isnan(s)
        if ok.any():
            ranks = np.argsort(np.argsort(s[ok], kind="stable"), kind="stable")
            pct[ok] += ranks / max(ok.sum() - 1, 1)
    votes = np.array([len([x for x in r["rule"].split(";") if x]) for r in rows])
    order = np.lexsort((np.arange(len(rows)), -pct, -votes))
    return [rows[i] for i in order[:top]]


def _plots(summ: dict, out: Path) -> list[str]:
    from hardneg.plots import pyplot, save_figure

    plt = pyplot()

    files = []
    for name, h in summ["histograms"].items():
        if not h.get("edges"):
            continue
        edges = np.array(h["edges"])
        mids, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
        fig, ax = plt.subplots(figsize=(6, 3.2))
        for part, color in (("positive", "tab:green"), ("kept", "tab:blue"), ("dropped", "tab:red"),
                            ("relabelled", "tab:purple")):
            if part not in h:
                continue
            c = np.array(h[part], dtype=float)
            ax.bar(mids, c / max(c.sum(), 1), width=width, alpha=0.45, color=color, label=f"{part} ({int(c.sum())})")
        ax.set_xlabel(summ["units"].get(name, "score"))
        ax.set_ylabel("share")
        ax.set_title(f"{name}: {' vs '.join(p for p in h if p != 'edges')}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fn = f"hist_{name}.png"
        save_figure(fig, out / fn, dpi=100)
        files.append(fn)
    per_rule = summ.get("drops_per_rule", {})
    if per_rule:
        fig, ax = plt.subplots(figsize=(6, 0.5 + 0.4 * len(per_rule)))
        ax.barh(list(per_rule), list(per_rule.values()), color="tab:red")
        ax.set_xlabel("candidates dropped")
        ax.invert_yaxis()
        fig.tight_layout()
        save_figure(fig, out / "drops_per_rule.png", dpi=100)
        files.append("drops_per_rule.png")
    cal = {j: c for j, c in summ.get("calibration", {}).items() if c.get("curve")}
    if cal:
        fig, axes = plt.subplots(1, len(cal), figsize=(5 * len(cal), 3.4), squeeze=False)
        for ax, (j, c) in zip(axes[0], cal.items()):
            v = np.array([np.nan if x is None else x for x in c["curve"]["value"]], dtype=float)
            ax.plot(v, c["curve"]["fn_rate"], ".-", color="tab:red", label="false-negative rate")
            ax.plot(v, c["curve"]["coverage"], ".-", color="tab:blue", label="queries full")
            if c.get("value") is not None:
                ax.axvline(c["value"], color="black", ls="--", lw=1, label=f"chosen {c['value']:.4g}")
            ax.axhline(c.get("target_fn_rate", 0), color="tab:red", ls=":", lw=1)
            ax.set_xlabel(f"{c['kind']} value")
            ax.set_title(f"calibration: {j}")
            ax.legend(fontsize=7)
        fig.tight_layout()
        save_figure(fig, out / "calibration.png", dpi=100)
        files.append("calibration.png")
    return files


def _sections(summ: dict) -> list[str]:
    """Cascade cost, calibration outcome and the false-negative rate by miner rank, as markdown."""
    out = []
    c = summ.get("cascade")
    if c:
        out += ["", f"## Cascade (band {c['band']:g})", "", "| judge | pairs scored | judging everything |",
                "|---|---:|---:|"]
        out += [f"| {j} | {v} | {c['pairs_if_judging_all']} |" for j, v in c["pairs_scored"].items()]
    cal = summ.get("calibration") or {}
    if cal:
        out += ["", "## Calibration", "", "| judge | value | from | outcome |", "|---|---:|---|---|"]
        out += [f"| {j} | {x.get('value')} | {x.get('source', '')} | {x['reason']} |" for j, x in cal.items()]
        out += [f"| {j} relabel | {x['relabel'].get('value')} | {x['relabel'].get('source', '')} | "
                f"{x['relabel']['reason']} |" for j, x in cal.items() if x.get("relabel")]
        fbr = next((x["fn_by_rank"] for x in cal.values() if x.get("fn_by_rank")), None)
        if fbr:
            out += ["", "Estimated false-negative rate by miner rank (held-out positives at rank r / candidates "
                        "at rank r):", "", "| rank | " + " | ".join(str(i + 1) for i in range(len(fbr))) + " |",
                    "|---|" + "---:|" * len(fbr), "| rate | " + " | ".join(f"{x:.3f}" for x in fbr) + " |"]
    return out


def _cut(text: str | None, n: int = 300) -> str:
    text = (text or "").replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= n else text[:n] + "…"


def write_report(run_dir: str | Path, top: int = 20, as_html: bool = False) -> Path:
    """Write report.md (and report.html) with PNG plots into the validation folder; return the markdown path."""
    vdir = validation_dir(run_dir)
    summ = json.loads((vdir / "summary.json").read_text(encoding="utf-8"))
    rows = [r for _, r in read_jsonl(vdir / "audit.jsonl")]
    judges = list(summ.get("units", {}))
    pngs = _plots(summ, vdir)
    lines = ["# Validation report", "",
             f"{summ['queries']} queries, {summ['num_negatives']} negatives each; judges combined by "
             f"`{summ['combine']}`, positive score = `{summ['pos_agg']}` of a query's positives.", "",
             "| judged | dropped | kept | spare | queries short |", "|---:|---:|---:|---:|---:|",
             f"| {summ['judged']} | {summ['dropped']} | {summ['kept']} | {summ['spare']} | {summ['queries_short']} |",
             "", "## Judges and rules", "", "| judge | units | rules | drop votes |", "|---|---|---|---:|"]
    for j in judges:
        lines.append(f"| {j} | {summ['units'][j]} | {', '.join(summ['rules'].get(j, []))} | "
                     f"{summ['votes_per_judge'].get(j, 0)} |")
    lines += [f"", f"Policy `{summ.get('policy', 'drop=' + summ['combine'])}`: {summ.get('relabelled', 0)} relabelled "
              f"as positives, {summ.get('queries_dropped', 0)} queries dropped; short because of "
              + ", ".join(f"{k}: {v}" for k, v in summ.get("short_reasons", {}).items())]
    lines += _sections(summ)
    lines += ["", "## Drops per rule", "", "| rule | dropped |", "|---|---:|"]
    lines += [f"| `{r}` | {c} |" for r, c in summ.get("drops_per_rule", {}).items()]
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in pngs]
    lines += ["", f"## {min(top, len(rows))} most confident suspected false negatives", "",
              "| query | suspected false negative | known positive | scores | rule |", "|---|---|---|---|---|"]
    for r in suspects(rows, judges, top):
        sc = ", ".join(f"{j} {r[f'score_{j}']:.3f} (pos {r[f'pos_{j}']:.3f})" for j in judges
                       if r.get(f"score_{j}") is not None and r.get(f"pos_{j}") is not None)
        lines.append(f"| {_cut(r['query'], 200)} | **{r['doc_id']}** (rank {r['miner_rank']}): {_cut(r['doc'])} | "
                     f"**{r.get('positive_id')}**: {_cut(r.get('positive'))} | {sc} | `{r['rule']}` |")
    md = "\n".join(lines) + "\n"
    path = vdir / "report.md"
    with atomic_write(path) as f:
        f.write(md)
    if as_html:
        with atomic_write(vdir / "report.html") as f:
            f.write(_html(md))
    return path


def report_files(md_path: Path, as_html: bool = False) -> list[Path]:
    """Every file a report wrote: report.md, report.html (with as_html), and the plots it links to."""
    text = md_path.read_text(encoding="utf-8")
    pngs = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text)
    extra = [md_path.with_suffix(".html")] if as_html else []
    return [md_path, *extra, *(md_path.parent / p for p in dict.fromkeys(pngs))]


def _html(md: str) -> str:
    """A plain HTML page from the markdown (tables and images; no markdown dependency)."""
    out, in_table = ["<!doctype html><meta charset='utf-8'><title>hardneg validation report</title>",
                     "<style>body{font-family:sans-serif;max-width:1200px}td,th{border:1px solid #ccc;"
                     "padding:4px;vertical-align:top;font-size:13px}table{border-collapse:collapse}</style>"], False
    for line in md.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            if set(line) <= set("|-: "):
                continue
            if not in_table:
                out.append("<table>")
                in_table = True
            out.append("<tr>" + "".join(f"<td>{html.escape(c).replace('**', '')}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        if line.startswith("!["):
            src = line[line.index("(") + 1:-1]
            out.append(f"<p><img src='{html.escape(src)}'></p>")
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line.lstrip('# '))}</h{level}>")
        elif line:
            out.append(f"<p>{html.escape(line)}</p>")
    if in_table:
        out.append("</table>")
    return "\n".join(out) + "\n"
