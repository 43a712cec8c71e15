"""Tidy result tables: one CSV row per finished point, appended at once.

A sweep that is interrupted (Ctrl-C, a killed session) loses nothing that
finished; a re-run reads the table and skips every point whose ``config_hash``
matches. Rows of other configurations are moved to ``<name>.stale.csv``
(:meth:`ResultTable.keep_only`) so a changed configuration never mixes stale
rows into a curve, a plot or a report, and nothing computed is thrown away.
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Iterable


class ResultTable:
    """Append-only CSV with a fixed header, flushed and fsynced per write."""

    def __init__(self, path: Path, columns: Iterable[str]):
        self.path = Path(path)
        self.columns = list(columns)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def rows(self) -> list[dict[str, str]]:
        if not self.path.is_file():
            return []
        with self.path.open(newline="") as fh:
            return list(csv.DictReader(fh))

    def keep_only(self, hashes: Iterable[str]) -> list[dict[str, str]]:
        """Move rows whose ``config_hash`` is not in ``hashes`` to ``<stem>.stale.csv``; return the rest."""
        keep = set(hashes)
        rows = self.rows()
        current = [r for r in rows if r.get("config_hash") in keep]
        if len(current) == len(rows):
            return rows
        ResultTable(self.path.with_suffix(".stale.csv"), rows[0].keys()).extend(
            r for r in rows if r.get("config_hash") not in keep)
        tmp = ResultTable(self.path.with_suffix(".csv.tmp"), self.columns)
        tmp.path.unlink(missing_ok=True)
        tmp.extend(current)
        if current:
            tmp.path.replace(self.path)
        else:
            self.path.unlink()
        return current

    def append(self, row: dict[str, Any]) -> None:
        self.extend([row])

    def extend(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append ``rows`` in one write, flushed and fsynced (a header first if the file is new)."""
        rows = list(rows)
        if not rows:
            return
        new = not self.path.is_file() or self.path.stat().st_size == 0
        with self.path.open("a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.columns, extrasaction="raise")
            if new:
                writer.writeheader()
            writer.writerows({k: _fmt(row.get(k)) for k in self.columns} for row in rows)
            fh.flush()
            os.fsync(fh.fileno())


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else value


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    tmp.replace(path)
