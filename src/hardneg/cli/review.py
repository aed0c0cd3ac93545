"""`hardneg review RUN_DIR`: the review page, and exports to / imports from Argilla and Label Studio."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

console = Console()


def review_cmd(
    run_dir: Path = typer.Argument(..., help="A validated run folder (holds validation/audit.jsonl)."),
    port: int = typer.Option(0, help="Port on 127.0.0.1 (default: a free one)."),
    open_browser: bool = typer.Option(False, "--open", help="Open the page in a browser."),
    export: Optional[str] = typer.Option(None, "--export", help="Write the review queue for another tool instead: argilla or label-studio (needs OUT)."),
    out: Optional[Path] = typer.Argument(None, help="Output folder of --export."),
    import_file: Optional[Path] = typer.Option(None, "--import", help="Append labels from an Argilla or Label Studio export to RUN_DIR/review.jsonl."),
) -> None:
    """Review suspected false negatives in a local web page; decisions go to RUN_DIR/review.jsonl."""
    from hardneg.review.exchange import FORMATS, export_argilla, export_label_studio, import_labels
    from hardneg.review.items import REVIEW, load_items
    from hardneg.review.labels import append

    try:
        if export is not None and export not in FORMATS:
            raise ValueError(f"--export must be one of {', '.join(FORMATS)}, not '{export}'")
        if export and out is None:
            raise ValueError("--export needs an output folder: hardneg review RUN_DIR --export FORMAT OUT")
        if out is not None and not export:
            raise ValueError(f"unexpected argument '{out}' (an output folder goes with --export)")
        if not 0 <= port < 65536:
            raise ValueError(f"--port must be in 0-65535, not {port}")
        items = load_items(run_dir)
        if export:
            (export_argilla if export == "argilla" else export_label_studio)(items, out)
            console.print(f"wrote {len(items)} {export} records to {out}")
            return
        if import_file:
            decisions = import_labels(import_file, items)
            append(run_dir / REVIEW, decisions)
            console.print(f"appended {len(decisions)} labels to {run_dir / REVIEW}")
            return
        from hardneg.review.app import make_server

        server, sock, url = make_server(run_dir, port)
    except (ValueError, OSError) as e:  # DataError is a ValueError
        console.print(f"[red]error:[/red] {e}", soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(f"reviewing {len(items)} suspected false negatives at {url} (Ctrl+C to stop)", soft_wrap=True)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    server.run(sockets=[sock])
