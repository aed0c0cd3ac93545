"""One error type for bad input, always naming where the problem is."""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Bad user input. The message names the file, line (1-based) or table row (1-based) and field when known."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None,
                 field: str | None = None, *, row: int | None = None):
        self.path, self.line, self.field, self.row = path, line, field, row
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"line {line}")
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
