"""``sequential``: one URL after another; the baseline every speedup is measured against."""

from __future__ import annotations

from collections.abc import Generator, Iterable

from ..config import Config
from ..records import Record
from ._blocking import BlockingFetcher

__all__ = ["run"]


def run(urls: Iterable[str], config: Config) -> Generator[Record, None, None]:
    fetcher = BlockingFetcher(config)
    try:
        for url in urls:
            yield fetcher.fetch(url)
    finally:
        fetcher.close()
