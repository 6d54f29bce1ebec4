"""A griffe extension that lets mkdocstrings render the SDK's reST-flavoured docstrings.

The docstrings are prose written for ``help()`` and Sphinx habits, and mkdocstrings renders
Markdown. Three habits would show as noise on the site, so they are rewritten when griffe has
loaded the package (the source files are not touched):

- roles such as ``:class:`Contact``` and ``:meth:`~HeymarketClient.close``` become links when
  the name resolves to something the reference renders, else plain code (the link is an
  "optional" autoref, so a role naming a private helper does not break ``--strict``);
- a paragraph ending in ``::`` followed by an indented block becomes a fenced code block
  (Python when it parses as Python, else plain text);
- ``#:`` comments above an attribute (or after it on its line) become its docstring, as Sphinx
  reads them, so ``UNSET``, ``UNASSIGN`` and the models' commented fields are documented;
- an attribute set only in ``__init__`` (``self.field = field``) shows no value, which would be
  an expression in ``__init__``'s scope.

Used from mkdocs.yml (``extensions: [tools/griffe_rest.py]``); run ``mkdocs build`` from the
repository's root.
"""

from __future__ import annotations

import ast
import functools
import html
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|data|mod|exc|obj|const):`(~?)([^`]+)`")


class RestDocstrings(griffe.Extension):
    """Rewrite every docstring of the loaded package (see the module docstring)."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        public = _public_paths(pkg)
        for obj in _walk(pkg):
            labels = obj.labels
            if (
                obj.is_attribute
                and "instance-attribute" in labels
                and "class-attribute" not in labels
            ):
                # ``self.field = field`` in ``__init__``: the value means nothing here.
                obj.value = None  # type: ignore[attr-defined]
            if obj.docstring is None and obj.is_attribute:
                comment = _comment_docstring(obj, loader)
                if comment:
                    obj.docstring = griffe.Docstring(comment, lineno=obj.lineno, parent=obj)
            if obj.docstring is not None:
                text = _literal_blocks(obj.docstring.value)
                obj.docstring.value = ROLE.sub(functools.partial(_role, obj, public=public), text)


def _public_paths(pkg: griffe.Module) -> dict[str, str]:
    """Where each re-exported name is defined -> the public path the reference renders it at.

    ``heymarket_async.HeymarketClient`` is defined in ``heymarket_async._client``; a role in a
    private module resolves to the latter, the site's anchor is the former.
    """
    public: dict[str, str] = {}
    modules = [pkg, *(m for m in pkg.modules.values() if not m.name.startswith("_"))]
    for module in modules:
        for name, member in module.members.items():
            if name.startswith("_") or not member.is_alias:
                continue
            try:
                target = member.final_target.path  # type: ignore[union-attr]
            except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                continue
            # The top-level name wins over a subpackage's (both name one object).
            public.setdefault(target, member.path)
    return public


def _walk(obj: griffe.Object) -> list[griffe.Object]:
    """``obj`` and every object defined under it (imported names are skipped: aliases)."""
    found = [obj]
    for member in obj.members.values():
        if not member.is_alias:
            found.extend(_walk(member))  # type: ignore[arg-type]
    return found


def _comment_docstring(obj: griffe.Object, loader: griffe.GriffeLoader) -> str:
    if obj.filepath is None or obj.lineno is None or isinstance(obj.filepath, list):
        return ""
    try:
        lines = loader.lines_collection[obj.filepath]
    except KeyError:
        return ""
    if obj.lineno > len(lines):
        return ""
    _, sep, trailing = lines[obj.lineno - 1].partition("#:")
    if sep:
        return trailing.strip()
    above: list[str] = []
    index = obj.lineno - 2
    while index >= 0 and lines[index].strip().startswith("#:"):
        above.insert(0, lines[index].strip()[2:].strip())
        index -= 1
    return " ".join(above)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _literal_blocks(text: str) -> str:
    """Turn reST literal blocks (a paragraph ending in ``::``) into fenced code blocks."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        following = next((n for n in lines[i + 1 :] if n.strip()), None)
        if not (
            line.rstrip().endswith("::")
            and following is not None
            and _indent(following) > _indent(line)
        ):
            out.append(line)
            i += 1
            continue
        base = " " * _indent(line)
        lead = line.rstrip()[:-2].rstrip()
        if lead.strip():
            out.extend([lead + ":", ""])
        block: list[str] = []
        i += 1
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > len(base)):
            block.append(lines[i])
            i += 1
        while block and not block[-1].strip():
            block.pop()
        while block and not block[0].strip():
            block.pop(0)
        depth = min(_indent(b) for b in block if b.strip())
        code = [b[depth:] for b in block]
        out.append(f"{base}```{_language(code)}")
        out.extend(f"{base}{c}" if c else "" for c in code)
        out.extend([f"{base}```", ""])
    return "\n".join(out)


def _language(code: list[str]) -> str:
    try:
        ast.parse("\n".join(code), feature_version=(3, 10))
    except SyntaxError:
        try:  # top-level ``async with`` / ``await`` in an example
            body = "\n".join("    " + c for c in code)
            ast.parse(f"async def _():\n{body}\n")
        except SyntaxError:
            return "text"
    return "python"


def _role(obj: griffe.Object, match: re.Match[str], *, public: dict[str, str]) -> str:
    tilde, target = match.groups()
    target = target.strip()
    title = target.rsplit(".", 1)[-1] if tilde else target
    code = f"<code>{html.escape(title)}</code>"
    path = _resolve(obj, target.lstrip("."))
    if path is None:
        return code
    for prefix in sorted(public, key=len, reverse=True):
        if path == prefix or path.startswith(prefix + "."):
            path = public[prefix] + path[len(prefix) :]
            break
    return f'<autoref identifier="{html.escape(path)}" optional>{code}</autoref>'


def _resolve(obj: griffe.Object, target: str) -> str | None:
    """The path of the object ``target`` names, looked up from ``obj`` outwards, or None."""
    head, _, rest = target.partition(".")
    scope: griffe.Object | None = obj
    while scope is not None:
        members = scope.all_members if scope.is_class else scope.members
        if head in members:
            found = members[head]
            try:
                path = found.final_target.path if found.is_alias else found.path  # type: ignore[union-attr]
            except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                return None
            return f"{path}.{rest}" if rest else path
        scope = scope.parent
    return target if target.startswith("heymarket_async") else None
