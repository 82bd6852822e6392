"""The benchmark for programs: ``--json FILE``, one JSON object described by :data:`SCHEMA`.

Times are seconds, memory bytes. A figure that cannot be known is null: ``speedup`` when
sequential was not measured, ``ideal_s`` and ``efficiency`` on your own URLs (their answer
times are unknown). ``rows`` holds only modes with at least one finished run (or a
failure): after Ctrl-C, ``interrupted`` is true and the rows are those that finished.
"""

from __future__ import annotations

from typing import Any, Final

from ... import __version__
from ...bodies.extract import EXTRACTORS
from .model import Result, Row, Section

__all__ = ["SCHEMA", "SCHEMA_ID", "to_document"]

SCHEMA_ID: Final = "urn:fetchpool:bench:1"

_NUMBER_OR_NULL: Final = {"type": ["number", "null"]}
_SECONDS: Final = {"type": "number", "minimum": 0}

_RUN: Final = {
    "type": "object",
    "required": ["wall_s", "cpu_s", "peak_rss_bytes", "ok", "failed"],
    "additionalProperties": False,
    "properties": {
        "wall_s": _SECONDS,
        "cpu_s": _SECONDS,
        "peak_rss_bytes": {"type": "integer", "minimum": 0},
        "ok": {"type": "integer", "minimum": 0},
        "failed": {"type": "integer", "minimum": 0},
    },
}

_ROW: Final = {
    "type": "object",
    "required": [
        "mode",
        "workers",
        "runs",
        "wall_s",
        "wall_min_s",
        "wall_max_s",
        "cpu_s",
        "peak_rss_bytes",
        "speedup",
        "pages_per_s",
        "ideal_s",
        "efficiency",
        "error",
    ],
    "additionalProperties": False,
    "properties": {
        "mode": {"type": "string"},
        "workers": {"type": "integer", "minimum": 1},
        "runs": {"type": "array", "items": _RUN},
        "wall_s": _NUMBER_OR_NULL,
        "wall_min_s": _NUMBER_OR_NULL,
        "wall_max_s": _NUMBER_OR_NULL,
        "cpu_s": _NUMBER_OR_NULL,
        "peak_rss_bytes": {"type": ["integer", "null"]},
        "speedup": _NUMBER_OR_NULL,
        "pages_per_s": _NUMBER_OR_NULL,
        "ideal_s": _NUMBER_OR_NULL,
        "efficiency": _NUMBER_OR_NULL,
        "error": {"type": ["string", "null"]},
    },
}

_SECTION_COMMON: Final = {
    "items": {"type": "integer", "minimum": 1},
    "repeat": {"type": "integer", "minimum": 1},
    "rows": {"type": "array", "items": _ROW},
}

_IO: Final = {
    "type": "object",
    "required": ["target", "items", "delay_ms", "concurrency", "extract", "repeat", "rows"],
    "additionalProperties": False,
    "properties": {
        **_SECTION_COMMON,
        "target": {"enum": ["built-in site", "URLs"]},
        "delay_ms": {"type": ["integer", "null"], "minimum": 0},
        "concurrency": {"type": "integer", "minimum": 1},
        "extract": {"type": "array", "items": {"enum": list(EXTRACTORS)}},
    },
}

_CPU: Final = {
    "type": "object",
    "required": ["items", "rounds", "workers", "repeat", "rows"],
    "additionalProperties": False,
    "properties": {
        **_SECTION_COMMON,
        "rounds": {"type": "integer", "minimum": 1},
        "workers": {"type": "integer", "minimum": 1},
    },
}

#: The JSON Schema (draft 2020-12) of a ``--json`` document.
SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "fetchpool bench results",
    "type": "object",
    "required": ["schema", "fetchpool", "created", "interrupted", "machine", "io", "cpu"],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "fetchpool": {"type": "string"},
        "created": {"type": "string", "format": "date-time"},
        "interrupted": {"type": "boolean"},
        "machine": {
            "type": "object",
            "required": [
                "implementation",
                "python",
                "build",
                "free_threaded_build",
                "gil_enabled",
                "cores",
                "system",
            ],
            "additionalProperties": False,
            "properties": {
                "implementation": {"type": "string"},
                "python": {"type": "string"},
                "build": {"type": "string"},
                "free_threaded_build": {"type": "boolean"},
                "gil_enabled": {"type": "boolean"},
                "cores": {"type": "integer", "minimum": 1},
                "system": {"type": "string"},
            },
        },
        "io": {"oneOf": [{"type": "null"}, _IO]},
        "cpu": {"oneOf": [{"type": "null"}, _CPU]},
    },
}


def to_document(result: Result) -> dict[str, Any]:
    """``result`` as a JSON-ready dict that :data:`SCHEMA` describes."""
    m = result.machine
    return {
        "schema": SCHEMA_ID,
        "fetchpool": __version__,
        "created": result.created,
        "interrupted": result.interrupted,
        "machine": {
            "implementation": m.implementation,
            "python": m.python,
            "build": m.build,
            "free_threaded_build": m.free_threaded_build,
            "gil_enabled": m.gil_enabled,
            "cores": m.cores,
            "system": m.system,
        },
        "io": None if result.io is None else _io(result.io),
        "cpu": None if result.cpu is None else _cpu(result.cpu),
    }


def _io(section: Section) -> dict[str, Any]:
    return {
        "target": section.target,
        "items": section.items,
        "delay_ms": section.delay_ms,
        "concurrency": section.concurrency,
        "extract": list(section.extract),
        "repeat": section.repeat,
        "rows": [_row(section, r) for r in section.finished_rows],
    }


def _cpu(section: Section) -> dict[str, Any]:
    return {
        "items": section.items,
        "rounds": section.rounds,
        "workers": section.workers,
        "repeat": section.repeat,
        "rows": [_row(section, r) for r in section.finished_rows],
    }


def _row(section: Section, row: Row) -> dict[str, Any]:
    runs = [
        {
            "wall_s": r.wall,
            "cpu_s": r.cpu,
            "peak_rss_bytes": r.peak_rss,
            "ok": r.ok,
            "failed": r.failed,
        }
        for r in row.runs
    ]
    done = row.done
    return {
        "mode": row.mode,
        "workers": row.workers,
        "runs": runs,
        "wall_s": row.wall if done else None,
        "wall_min_s": row.wall_min if done else None,
        "wall_max_s": row.wall_max if done else None,
        "cpu_s": row.cpu if done else None,
        "peak_rss_bytes": row.peak_rss if done else None,
        "speedup": section.speedup(row),
        "pages_per_s": section.rate(row),
        "ideal_s": section.ideal(row) if done else None,
        "efficiency": section.efficiency(row),
        "error": row.error,
    }
