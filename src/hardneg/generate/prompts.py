"""Prompts that ask an LLM for a search query about one document (InPars vanilla/GBQ, Promptagator, user files)."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Callable

from hardneg.data.errors import DataError
from hardneg.data.jsonl import read_jsonl
from hardneg.llm.base import Prompt

# Our own example pairs, written for this project in the style of web-search logs (short, lower case).
EXAMPLES = [
    ("Rainwater harvesting collects runoff from roofs into tanks. Filtered rainwater can flush toilets and "
     "water gardens, cutting mains water use by up to half in a typical house.",
     "how much water does rainwater harvesting save",
     "what is a roof"),
    ("The Treaty of Westphalia, signed in 1648, ended the Thirty Years' War and set out the principle that each "
     "state is sovereign over its own territory and religion.",
     "what did the treaty of westphalia establish",
     "when did a war happen"),
    ("Lithium-ion batteries lose capacity faster when they are stored fully charged at high temperatures. "
     "Keeping the charge between 20 and 80 percent slows this wear.",
     "best charge level to store lithium ion batteries",
     "battery"),
]

SYSTEM = "You write realistic search-engine queries. Reply with the query only, on one line."
MAX_DOC_WORDS = 256


def doc_text(title: str, text: str, max_words: int = MAX_DOC_WORDS) -> str:
    """Title and text joined and cut to `max_words` words, so prompts fit small context windows."""
    words = (f"{title}. {text}" if title else text).split()
    return " ".join(words[:max_words])


def inpars(title: str, text: str) -> Prompt:
    """InPars "vanilla": few-shot document -> relevant query pairs, as chat turns."""
    msgs = [{"role": "system", "content": SYSTEM}]
    for doc, good, _ in EXAMPLES:
        msgs += [{"role": "user", "content": f"Document: {doc}\nRelevant query:"},
                 {"role": "assistant", "content": good}]
    msgs.append({"role": "user", "content": f"Document: {doc_text(title, text)}\nRelevant query:"})
    return msgs


def gbq(title: str, text: str) -> Prompt:
    """InPars "GBQ": examples show a good (specific) and a bad (vague) question; the model writes a good one."""
    lines = ["For each document, a good question is specific and answered by the document; "
             "a bad question is vague or not answered by it.", ""]
    for i, (doc, good, bad) in enumerate(EXAMPLES, 1):
        lines += [f"Example {i}:", f"Document: {doc}", f"Good question: {good}", f"Bad question: {bad}", ""]
    lines += [f"Example {len(EXAMPLES) + 1}:", f"Document: {doc_text(title, text)}", "Good question:"]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(lines)}]


def plain_doc(title: str, text: str) -> Prompt:
    """The document text alone, the input doc2query T5 models expect (use with hf:doc2query/...)."""
    return doc_text(title, text)


def promptagator(examples_file: str | Path, k: int = 8) -> Callable[[str, str], Prompt]:
    """Promptagator-style few-shot from the user's own pairs: a JSONL of {"query", "document"} (first k used)."""
    path = Path(examples_file)
    if not path.is_file():
        raise DataError("examples file does not exist", path)
    pairs = []
    for n, obj in read_jsonl(path):
        q, d = obj.get("query"), obj.get("document", obj.get("text"))
        if not isinstance(q, str) or not q.strip():
            raise DataError("expected a non-empty string", path, n, "query")
        if not isinstance(d, str) or not d.strip():
            raise DataError("expected a non-empty string", path, n, "document")
        pairs.append((doc_text(obj.get("title") or "", d, 128), q.strip()))
        if len(pairs) == k:
            break
    if not pairs:
        raise DataError("no example pairs", path)

    def build(title: str, text: str) -> Prompt:
        msgs = [{"role": "system", "content": SYSTEM + " Match the style of the example queries."}]
        for doc, q in pairs:
            msgs += [{"role": "user", "content": f"Document: {doc}\nQuery:"}, {"role": "assistant", "content": q}]
        msgs.append({"role": "user", "content": f"Document: {doc_text(title, text)}\nQuery:"})
        return msgs

    return build


def template_file(path: str | Path) -> Callable[[str, str], Prompt]:
    """A user template: Jinja (`{{ document }}`, `.j2`/`.jinja`) or str.format (`{document}`, `{title}`)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("template file does not exist", path)
    src = path.read_text(encoding="utf-8")
    if path.suffix in (".j2", ".jinja") or "{{" in src:
        import jinja2

        try:
            tpl = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True).from_string(src)
        except jinja2.TemplateSyntaxError as e:
            raise DataError(f"bad Jinja template: {e.message}", path, e.lineno) from None
        if "document" not in src:
            raise DataError("the template never uses {{ document }}", path, field="document")

        def render(title: str, text: str) -> Prompt:
            try:
                return tpl.render(document=doc_text(title, text), title=title, text=text)
            except jinja2.UndefinedError as e:
                raise DataError(f"template uses an unknown name ({e.message})", path) from None

        return render
    fields = {f for _, f, _, _ in string.Formatter().parse(src) if f is not None}
    unknown = fields - {"document", "title", "text"}
    if unknown:
        raise DataError(f"unknown placeholder(s) {sorted(unknown)}; use {{document}}, {{title}}, {{text}}",
                        path, field=sorted(unknown)[0])
    if "document" not in fields and "text" not in fields:
        raise DataError("the template never uses {document}", path, field="document")
    return lambda title, text: src.format(document=doc_text(title, text), title=title, text=text)


def make_prompt(name: str, examples: str | Path | None = None) -> Callable[[str, str], Prompt]:
    """`inpars`, `gbq`, `doc` (raw text for doc2query), `promptagator` (needs `examples`) or a template FILE."""
    if name == "inpars":
        return inpars
    if name == "gbq":
        return gbq
    if name == "doc":
        return plain_doc
    if name == "promptagator":
        if not examples:
            raise ValueError("the promptagator prompt needs an examples file of {query, document} pairs")
        return promptagator(examples)
    if Path(name).suffix or Path(name).exists():
        return template_file(name)
    raise ValueError(f"unknown prompt '{name}': use inpars, gbq, promptagator, doc or a template file")


_PREFIX = re.compile(r"^\s*(?:relevant query|good question|query|question|search query)\s*[:\-]\s*", re.I)
# chat-template tokens a server may leave in the text (ChatML, Gemma, Llama 3, </s>): the reply ends at the first
_SPECIAL = re.compile(r"<\|[a-z_]+\|>|<(?:start|end)_of_turn>|</s>|<eos>", re.I)
# a line that echoes the prompt's own structure is not a query
_ECHO = re.compile(r"^\s*(?:document|passage|title|text|example)\s*\d*\s*:", re.I)


def clean_query(text: str) -> str:
    """The first query-like line of a reply: cut at a chat-template token, without prompt echoes
    ('Document: ...'), a 'Query:' style prefix, quotes or extra spaces ('' when there is none)."""
    for line in _SPECIAL.split(text, maxsplit=1)[0].splitlines():
        if _ECHO.match(line):
            return ""  # the model is continuing the prompt, not answering it
        line = _PREFIX.sub("", line).strip().strip("\"'`“”").strip()
        if line:
            return " ".join(line.split())
    return ""
