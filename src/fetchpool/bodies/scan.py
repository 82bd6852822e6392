"""The HTML scan of ``--extract title,links`` (see :mod:`.extract`), in a module of its own
so that ``html.parser`` is imported only by runs that parse pages."""

from __future__ import annotations

from html.parser import HTMLParser

from .extract import MAX_TITLE

__all__ = ["Scan"]


class Scan(HTMLParser):
    """Finds the head's title and counts ``<a href>`` links, fed text in pieces."""

    def __init__(self, *, count_links: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.count_links = count_links
        self.title: str | None = None
        self.links = 0
        self.finished = False  # nothing more to learn: the caller may stop feeding
        self._in_title = False
        self._in_body = False
        self._parts: list[str] = []
        self._kept = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a" and any(name == "href" for name, _ in attrs):
            self.links += 1
        elif tag == "title" and self.title is None and not self._in_body:
            self._in_title = True
        elif tag == "body":
            # A <title> inside the body (SVG has them) is not the page's title.
            self._in_body = True
            self.end_title()
            self.finished = not self.count_links

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self.end_title()
            self.finished = not self.count_links

    def handle_data(self, data: str) -> None:
        if self._in_title and self._kept < 4 * MAX_TITLE:  # bounded, whatever the page
            self._parts.append(data)
            self._kept += len(data)

    def end_title(self) -> None:
        if self._in_title:
            self._in_title = False
            self.title = " ".join("".join(self._parts).split())[:MAX_TITLE]
            self._parts = []
