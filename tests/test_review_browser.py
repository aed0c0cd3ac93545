"""The review page end to end in a real headless Chromium (Debian's, driven by Playwright): label by keyboard
and by click, reload, then feed the labels back with `hardneg validate --review`."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time

import pytest
from typer.testing import CliRunner

from hardneg.cli import app
from hardneg.review.labels import read_review

from test_review import JUDGE, audit, make_run

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def _need_browser():
    """Skip only off CI when the browser is missing; in CI (`make` installs it) a missing browser fails."""
    missing = not os.path.exists(CHROMIUM)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = True
    if missing and not os.environ.get("CI"):
        pytest.skip("chromium or playwright missing (make installs both)")
    assert not missing, "CI needs /usr/bin/chromium and playwright: run `make setup`"


@pytest.fixture
def served(tmp_path):
    """A validated tiny run and a real uvicorn serving its review page on a free port (in a thread)."""
    from hardneg.review.app import make_server

    run = make_run(tmp_path)
    server, sock, url = make_server(run)
    t = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    t.start()
    deadline = time.time() + 10
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    assert server.started
    yield run, url
    server.should_exit = True
    t.join(5)


def test_label_reload_and_validate_in_chromium(served, tmp_path):
    _need_browser()
    from playwright.sync_api import sync_playwright

    run, url = served
    dialogs = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(url)
            assert page.locator("article.item").count() == 4
            assert page.locator("p.doc", has_text="<script>alert(1)</script> Insulin").count() == 1

            def current() -> tuple[str, str]:
                return tuple(json.loads(page.locator("article.current input[name=key]").get_attribute("value")))

            first = current()
            with page.expect_navigation():
                page.keyboard.press("f")  # false negative, by keyboard
            second = current()
            assert second != first
            with page.expect_navigation():
                page.keyboard.press("n")  # negative, by keyboard
            third = current()
            assert third not in (first, second)
            card = page.locator("article.current")
            with page.expect_navigation():
                card.locator('button[value="relevant"]').click()  # relevant, by click
            assert "3</b> of 4 decided" in page.content()

            page.reload()
            want = {first: "false_negative", second: "negative", third: "relevant"}
            for (q, d), lab in want.items():
                key = json.dumps([q, d])
                card = page.locator("article.item", has=page.locator(f"input[value='{key}']"))
                assert card.locator(f'button[value="{lab}"]').get_attribute("aria-pressed") == "true"
                assert card.locator('button[aria-pressed="true"]').count() == 1
            assert page.locator("#done").inner_text() == "3"
            page.keyboard.press("j")  # moves the highlight without labelling
            assert page.locator("article.current").count() == 1
            page.select_option("select[name=show]", "todo")
            with page.expect_navigation():
                page.click("form.filters button")
            assert page.locator("article.item").count() == 1
            page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
        finally:
            browser.close()
    assert dialogs == []  # the <script> in a document never ran
    assert read_review(run / "review.jsonl") == want

    r = CliRunner().invoke(app, ["validate", str(run), "--judge", JUDGE, "--review", "review.jsonl"])
    assert r.exit_code == 0, r.output
    rows = {(a["query_id"], a["doc_id"]): a for a in audit(run)}
    action = {"false_negative": "drop", "negative": "keep", "relevant": "relabel"}
    for pair, lab in want.items():
        assert rows[pair]["decided_by"] == "review" and rows[pair]["action"] == action[lab]
    qrels = (run / "qrels" / "train.relabelled.tsv").read_text().splitlines()
    assert qrels == ["query-id\tcorpus-id\tscore", "\t".join(third) + "\t1"]
