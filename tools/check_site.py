"""Check a built documentation site: internal links resolve, the reference names every public name.

    python tools/check_site.py site/            # after: mkdocs build --strict -d site/

1. Every ``href`` and ``src`` of every HTML page that points inside the site (a relative link,
   a root-relative one under ``site_url``'s path, or an absolute one under ``site_url``) names a
   file that exists, and its ``#fragment``, if any, is an ``id`` on that page. External links
   are not followed (CI has no network for them).
2. Every name in ``heymarket_async.__all__``, ``heymarket_async.testing.__all__`` and
   ``heymarket_async.pagination.__all__`` has its anchor (``id="heymarket_async.Contact"``) on a
   page under ``reference/``: mkdocstrings rendered it. A pagination name may be rendered at
   its top-level path, since both name one object. No reference page shows a reST role as
   text (``:class:`X```): tools/griffe_rest.py rewrites them.

Prints one line per problem and exits 1 if there is any; else a one-line summary.
"""

from __future__ import annotations

import argparse
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

LINK_ATTRS = {"href", "src"}


class _Page(HTMLParser):
    """The ids a page defines and the links it holds."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "id":
                self.ids.add(value)
            elif name in LINK_ATTRS:
                self.links.append(value)


def _site_url(config: Path) -> str:
    match = re.search(r"^site_url:\s*(\S+)", config.read_text(encoding="utf-8"), re.M)
    url = match.group(1).strip("'\"") if match else ""
    return url if url.endswith("/") or not url else url + "/"


def _target(site: Path, page: Path, link: str, site_url: str) -> tuple[Path, str] | None:
    """The file and fragment an internal link names, or None for an external link."""
    base_path = urlsplit(site_url).path or "/"
    if site_url and link.startswith(site_url):
        link = "/" + link[len(site_url) :]
        base_path = "/"
    parts = urlsplit(link)
    if parts.scheme or parts.netloc:
        return None
    path = unquote(parts.path)
    if path.startswith("/"):
        if not path.startswith(base_path):
            return site / "__outside_site_url__" / path.lstrip("/"), parts.fragment
        file = site / path[len(base_path) :]
    elif path:
        file = page.parent / path
    else:
        file = page
    if path.endswith("/") or file.is_dir():
        file = file / "index.html"
    return file.resolve(), parts.fragment


def check_links(site: Path, site_url: str) -> tuple[list[str], int, int]:
    """Problems with internal links, the number of pages and of links checked."""
    pages: dict[Path, _Page] = {}
    for file in sorted(site.rglob("*.html")):
        parser = _Page()
        parser.feed(file.read_text(encoding="utf-8"))
        pages[file.resolve()] = parser
    problems: list[str] = []
    checked = 0
    for file, parser in pages.items():
        where = file.relative_to(site.resolve())
        for link in parser.links:
            target = _target(site.resolve(), file, link, site_url)
            if target is None:
                continue
            checked += 1
            path, fragment = target
            if not path.is_file():
                problems.append(f"{where}: {link!r}: no file {path}")
            elif fragment and path.suffix == ".html":
                ids = pages[path].ids if path in pages else set()
                if unquote(fragment) not in ids:
                    problems.append(f"{where}: {link!r}: no id {fragment!r} on that page")
    return problems, len(pages), checked


def public_names() -> list[tuple[str, ...]]:
    """Each public name's acceptable anchors (its first is where it should be)."""
    import heymarket_async
    import heymarket_async.pagination
    import heymarket_async.testing

    names: list[tuple[str, ...]] = [(f"heymarket_async.{n}",) for n in heymarket_async.__all__]
    names += [(f"heymarket_async.testing.{n}",) for n in heymarket_async.testing.__all__]
    names += [
        (f"heymarket_async.pagination.{n}", f"heymarket_async.{n}")
        for n in heymarket_async.pagination.__all__
    ]
    return names


#: A reST role left as text: tools/griffe_rest.py did not rewrite a docstring.
RAW_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|data|mod|exc|obj|const):(?:<code>|`)")


def check_reference(site: Path) -> tuple[list[str], int]:
    """Public names with no anchor in the built reference, and how many names were looked for.

    Also a reST role printed as text (``:class:`X```) on a reference page is a problem.
    """
    ids: set[str] = set()
    problems: list[str] = []
    for file in sorted((site / "reference").rglob("*.html")):
        text = file.read_text(encoding="utf-8")
        parser = _Page()
        parser.feed(text)
        ids |= parser.ids
        for match in RAW_ROLE.finditer(text):
            context = text[max(0, match.start() - 60) : match.end() + 40].replace("\n", " ")
            problems.append(f"{file.relative_to(site)}: a reST role left as text: ...{context}...")
    names = public_names()
    problems += [
        f"reference: no anchor for {anchors[0]} (a '::: {anchors[0]}' directive under "
        "docs/reference/)"
        for anchors in names
        if not ids.intersection(anchors)
    ]
    return problems, len(names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("site", type=Path, help="the built site's folder")
    parser.add_argument("--config", type=Path, default=Path("mkdocs.yml"))
    args = parser.parse_args(argv)
    site: Path = args.site
    if not (site / "index.html").is_file():
        print(f"{site}: no index.html: build the site first", file=sys.stderr)
        return 1
    link_problems, pages, links = check_links(site, _site_url(args.config))
    name_problems, names = check_reference(site)
    for line in link_problems + name_problems:
        print(line, file=sys.stderr)
    if link_problems or name_problems:
        print(
            f"{len(link_problems)} broken internal links, {len(name_problems)} public names "
            "missing from the reference",
            file=sys.stderr,
        )
        return 1
    print(f"site ok: {pages} pages, {links} internal links resolve, {names} public names rendered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
