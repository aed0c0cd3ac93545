"""The review page: a Starlette app over a run folder's audit, writing decisions to RUN_DIR/review.jsonl."""

from __future__ import annotations

import json
import socket
from html import escape as html_escape
from pathlib import Path
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hardneg.data.errors import DataError
from hardneg.review.items import REVIEW, Item, load_items
from hardneg.review.labels import ACTIONS, LABELS, append, decision, read_review

FILTERS = ("query", "judge", "action", "show")
SHOWS = ("all", "todo", "done")
KEYS = {"negative": "n", "false_negative": "f", "relevant": "r", "skip": "s"}
TITLES = {"negative": "Negative (keep)", "false_negative": "False negative (drop)",
          "relevant": "Relevant (relabel as positive)", "skip": "Skip"}
MAX_BODY = 64 * 1024
HOSTS = ["127.0.0.1", "localhost"]  # a page served under any other name (DNS rebinding) is refused
PAGE = 200  # cards per page; "show more" adds another PAGE


def _filters(params) -> dict[str, str]:
    """The known filter values from query or form parameters (anything else is ignored)."""
    f = {k: str(params.get(k, "") or "") for k in FILTERS}
    if f["show"] not in SHOWS:
        f["show"] = "all"
    return f


def _view(items: list[Item], labels: dict, f: dict) -> list[int]:
    """Indices of the items the filters keep, in queue order."""
    out = []
    for i, it in enumerate(items):
        lab = labels.get((it.query_id, it.doc_id))
        if (f["query"] and it.query_id != f["query"]) or (f["judge"] and f["judge"] not in it.judges) or \
                (f["action"] and it.action != f["action"]) or (f["show"] == "todo" and lab) or \
                (f["show"] == "done" and not lab):
            continue
        out.append(i)
    return out


def create_app(run_dir: str | Path) -> Starlette:
    """The review app for a validated run folder (reads validation/audit.jsonl, appends to review.jsonl)."""
    run_dir = Path(run_dir)
    items = load_items(run_dir)
    read_review(run_dir / REVIEW)  # fail fast on a malformed review.jsonl
    index = {(it.query_id, it.doc_id): i for i, it in enumerate(items)}
    path = run_dir / REVIEW
    env = Environment(loader=PackageLoader("hardneg.review", "templates"), autoescape=True)
    page = env.get_template("review.html")
    queries = sorted({(it.query_id, it.query) for it in items})
    judges = sorted({j for it in items for j in it.scores})
    actions = sorted({it.action for it in items} | set(ACTIONS[:3]))

    async def home(request: Request) -> Response:
        f = _filters(request.query_params)
        try:
            labels = read_review(path)
        except DataError as e:  # edited by hand into something unreadable: say where
            return HTMLResponse(f"<p>{html_escape(str(e))}</p>", status_code=500)
        view = _view(items, labels, f)
        after = request.query_params.get("after", "")
        after = int(after) if after.isdigit() else -1
        todo = [i for i in view if (items[i].query_id, items[i].doc_id) not in labels]
        current = next((i for i in todo if i > after), todo[0] if todo else (view[0] if view else -1))
        limit = request.query_params.get("limit", "")
        limit = max(int(limit), PAGE) if limit.isdigit() else PAGE
        if current in view:  # the card to work on is always shown
            limit = max(limit, view.index(current) + 1)
        decided = [labels.get((it.query_id, it.doc_id)) for it in items]
        html = page.render(
            run=run_dir.name or str(run_dir), items=items, view=view[:limit], shown=len(view), more=limit + PAGE,
            labels=labels, current=current, f=f,
            queries=queries, judges=judges, actions=actions, shows=SHOWS, label_names=LABELS, keys=KEYS,
            titles=TITLES, total=len(items), done=sum(1 for d in decided if d and d != "skip"),
            skipped=sum(1 for d in decided if d == "skip"),
            view_done=sum(1 for i in view if (items[i].query_id, items[i].doc_id) in labels),
            qs=urlencode({k: v for k, v in f.items() if v and not (k == "show" and v == "all")}))
        return HTMLResponse(html)

    def bad(status: int, msg: str) -> Response:
        return JSONResponse({"error": msg}, status_code=status)

    async def label(request: Request) -> Response:
        """POST a form (key or query_id + doc_id, label; filters kept) or a JSON object; 400 on a malformed
        body, 404 on an unknown pair. Answers a form with a redirect to the page, JSON with the new counts."""
        origin = request.headers.get("origin")
        if origin and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
            return bad(403, "cross-origin request")  # another site's page posting to this local server
        size = request.headers.get("content-length", "0")
        if not size.isdigit() or int(size) > MAX_BODY:
            return bad(413, "body too large")
        is_json = request.headers.get("content-type", "").startswith("application/json")
        try:
            body = json.loads(await request.body()) if is_json else dict(await request.form())
        except (ValueError, UnicodeDecodeError, AssertionError) as e:
            return bad(400, f"malformed body ({e})")
        if not isinstance(body, dict):
            return bad(400, "expected an object")
        q, d = body.get("query_id"), body.get("doc_id")
        if "key" in body:
            try:
                q, d = json.loads(body["key"])
            except (ValueError, TypeError):
                return bad(400, "malformed key")
        lab = body.get("label")
        if not isinstance(q, str) or not isinstance(d, str) or not q or not d:
            return bad(400, "query_id and doc_id are required strings")
        if lab not in LABELS:
            return bad(400, f"label must be one of {', '.join(LABELS)}")
        if (q, d) not in index:
            return bad(404, f"unknown pair ({q}, {d}): not in this run's audit")
        it = items[index[(q, d)]]
        try:
            append(path, [decision(q, d, lab, it.action)])
        except DataError as e:
            return bad(400, str(e))
        if is_json:
            labels = read_review(path)
            return JSONResponse({"query_id": q, "doc_id": d, "label": lab,
                                 "done": sum(1 for v in labels.values() if v != "skip"), "total": len(items)})
        f = {k: v for k, v in _filters(body).items() if v and not (k == "show" and v == "all")}
        return RedirectResponse("/?" + urlencode({**f, "after": index[(q, d)]}), status_code=303)

    static = StaticFiles(packages=[("hardneg.review", "static")])
    return Starlette(routes=[Route("/", home), Route("/label", label, methods=["POST"]),
                             Mount("/static", static, name="static")],
                     middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=HOSTS)])


def bind(port: int = 0) -> socket.socket:
    """A listening socket on 127.0.0.1 (port 0 = a free one)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(128)  # connections made before the server loop starts wait in the backlog
    return s


def make_server(run_dir: str | Path, port: int = 0):
    """(uvicorn.Server, bound socket, URL) for the review app; call server.run(sockets=[sock])."""
    import uvicorn

    app = create_app(run_dir)
    sock = bind(port)
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    return server, sock, f"http://{host}:{port}/"
