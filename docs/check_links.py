#!/usr/bin/env python3
"""Checks the links of the built book (docs/book, from `mdbook build docs`).

Every relative link and image of every page must lead to a file: another page of the
book (with its #anchor, if any, present there) or a file of the repository
(links such as ../../examples/c/x.c are resolved from docs/book/, i.e. they
work when the book is read from a checkout). External links are not fetched.
Exits non-zero and lists page: link for each broken one.
"""

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

BOOK = Path(__file__).resolve().parent / "book"
# mdBook's own pages and assets, not written by us.
SKIP = {"print.html", "404.html", "toc.html"}


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "img" and a.get("src"):  # the figures of `make docs-figures`
            self.links.append(a["src"])


def parse(path: Path) -> Page:
    p = Page()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def main() -> int:
    if not (BOOK / "index.html").is_file():
        print("check_links: build the book first (make docs)", file=sys.stderr)
        return 2
    pages = {p: parse(p) for p in BOOK.glob("*.html") if p.name not in SKIP}
    bad = []
    for path, page in sorted(pages.items()):
        for href in page.links:
            u = urlsplit(href)
            if u.scheme or href.startswith("//") or href.startswith("mailto:"):
                continue
            target = path if not u.path else (path.parent / unquote(u.path)).resolve()
            if not target.exists():
                bad.append((path.name, href, "no such file"))
            elif u.fragment and target.suffix == ".html" and target.parent == BOOK:
                ids = pages[target].ids if target in pages else parse(target).ids
                if unquote(u.fragment) not in ids:
                    bad.append((path.name, href, "no such anchor"))
    for name, href, why in bad:
        print(f"{name}: {href}: {why}")
    print(f"check_links: {sum(len(p.links) for p in pages.values())} links in {len(pages)} pages, "
          f"{len(bad)} broken")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
