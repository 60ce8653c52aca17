"""JSON-LD (and extruct's uniform output) → lrmi_map nodes, by term names.

No JSON-LD processor is involved, so no @context is ever fetched: inline
contexts are folded in for their prefixes, aliases and @language; a remote
context is simply not needed to read compact schema.org keys. Compact keys
("name"), prefixed keys ("schema:name", or any prefix an inline context
binds) and full IRIs (http(s)://schema.org/name) all reduce to the local
name; "id"/"type" are the AMB context's aliases of @id/@type.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from schemas.crosswalks.lrmi_map import EDU_PROPS, MAX_DEPTH, RESOURCE_TYPES, Node, is_blank, lit, term_key

PAGE_TYPES = frozenset({"WebPage", "ItemPage", "WebSite", "CollectionPage"})
"""Page types are records only when they carry LRMI properties (most pages are not resources)."""
_LANG_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class _Ctx(NamedTuple):
    terms: dict[str, str]
    language: str | None


def _extend(ctx: _Ctx, context: Any) -> _Ctx:
    """Fold inline @context objects in; remote ones (strings) are never fetched."""
    terms, language = dict(ctx.terms), ctx.language
    for part in context if isinstance(context, list) else [context]:
        if not isinstance(part, dict):
            continue
        for key, value in part.items():
            if key == "@language":
                language = value if isinstance(value, str) else None
            elif isinstance(value, str):
                terms[key] = value
            elif isinstance(value, dict) and isinstance(value.get("@id"), str):
                terms[key] = value["@id"]
    return _Ctx(terms, language)


def _key(key: str, ctx: _Ctx, depth: int = 0) -> str:
    if key.startswith("@") or depth > 3:
        return key
    mapped = ctx.terms.get(key)
    if mapped and mapped != key:
        return _key(mapped, ctx, depth + 1)
    if key in ("id", "type"):
        return "@" + key  # the AMB context's aliases
    if "://" in key:
        return term_key(key) or key
    if ":" in key:
        prefix, local = key.split(":", 1)
        if prefix in ctx.terms:
            return _key(ctx.terms[prefix] + local, ctx, depth + 1)
        if prefix in ("schema", "sdo", "lrmi"):
            return local
    return key


class Reader:
    """Reduce a decoded JSON-LD document (or extruct's items) to resource nodes."""

    def __init__(self, doc: Any):
        self.doc = doc
        self.index: dict[str, dict] = {}
        self.refs: set[str] = set()
        self._collect(doc, 0)

    def _collect(self, obj: Any, depth: int) -> None:
        if depth > 40 or len(self.index) > 100_000:
            return
        if isinstance(obj, list):
            for item in obj:
                self._collect(item, depth + 1)
        elif isinstance(obj, dict):
            ident = obj.get("@id", obj.get("id"))
            if isinstance(ident, str) and len(obj) > 1:
                self.index.setdefault(ident, obj)
            for value in obj.values():
                if isinstance(value, (list, dict)):
                    self._collect(value, depth + 1)

    def nodes(self) -> list[Node]:
        """Top-level learning-resource nodes, minus blank ones that another node embeds."""
        tops: list[tuple[dict, _Ctx]] = []
        self._tops(self.doc, _Ctx({}, None), tops, 0)
        nodes = [self.node(obj, ctx, 0, frozenset()) for obj, ctx in tops]
        return [n for n in nodes if is_resource(n) and not (is_blank(n["@id"]) and n["@id"] in self.refs)]

    def _tops(self, obj: Any, ctx: _Ctx, out: list, depth: int) -> None:
        if depth > 6:
            return
        if isinstance(obj, list):
            for item in obj:
                self._tops(item, ctx, out, depth + 1)
        elif isinstance(obj, dict):
            if "@context" in obj:
                ctx = _extend(ctx, obj["@context"])
            if "@graph" in obj:
                self._tops(obj["@graph"], ctx, out, depth + 1)
            if any(k not in ("@context", "@graph", "@id", "id") for k in obj):
                out.append((obj, ctx))

    def node(self, obj: dict, ctx: _Ctx, depth: int, seen: frozenset[str]) -> Node:
        if "@context" in obj:
            ctx = _extend(ctx, obj["@context"])
        keys = {k: _key(k, ctx) for k in obj if isinstance(k, str)}
        ident = next((obj[k] for k, kk in keys.items() if kk == "@id" and isinstance(obj[k], str)), None)
        if ident and all(kk in ("@id", "@context") for kk in keys.values()):
            target = self.index.get(ident)
            if target is not None and ident not in seen and depth <= MAX_DEPTH:
                self.refs.add(ident)
                return self.node(target, ctx, depth, seen | {ident})
            return {"@id": ident, "@type": []}
        node: Node = {"@id": ident, "@type": []}
        if depth > MAX_DEPTH:
            return node
        seen = seen | {ident} if ident else seen
        for k, kk in keys.items():
            value = obj[k]
            if kk == "@type":
                names = (
                    _key(t, ctx)
                    for t in (value if isinstance(value, list) else [value])
                    if isinstance(t, str)
                )
                node["@type"] = [re.split(r"[/#]", n)[-1] if "://" in n else n for n in names]
            elif not kk.startswith("@"):
                node.setdefault(kk, []).extend(self.values(value, ctx, depth + 1, seen))
        return node

    def values(self, value: Any, ctx: _Ctx, depth: int, seen: frozenset[str]) -> list:
        out: list = []
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str):
                out.append(lit(v, ctx.language))
            elif isinstance(v, bool) or v is None:
                continue
            elif isinstance(v, (int, float)):
                out.append(lit(str(v)))
            elif isinstance(v, list) and depth <= MAX_DEPTH:
                out.extend(self.values(v, ctx, depth + 1, seen))
            elif isinstance(v, dict):
                if "@value" in v:
                    if isinstance(v["@value"], (str, int, float)) and not isinstance(v["@value"], bool):
                        out.append(lit(str(v["@value"]), v.get("@language", ctx.language)))
                elif "@list" in v or "@set" in v:
                    if depth <= MAX_DEPTH:
                        out.extend(self.values(v.get("@list", v.get("@set")), ctx, depth + 1, seen))
                elif _is_language_map(v):
                    out.extend(
                        lit(t, lang)
                        for lang, ts in v.items()
                        for t in (ts if isinstance(ts, list) else [ts])
                        if isinstance(t, str)
                    )
                else:
                    out.append(self.node(v, ctx, depth, seen))
        return out


def _is_language_map(value: dict) -> bool:
    return bool(value) and all(
        isinstance(k, str)
        and _LANG_TAG.match(k)
        and k not in ("id", "url", "uri")
        and isinstance(v, (str, list))
        for k, v in value.items()
    )


def is_resource(node: Node) -> bool:
    """Typed as a creative work, or a page/untyped node that carries LRMI properties."""
    types = set(node["@type"])
    if types & RESOURCE_TYPES:
        return True
    return (not types or bool(types & PAGE_TYPES)) and bool(EDU_PROPS & node.keys()) and "name" in node
