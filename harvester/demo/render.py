"""Records → the bytes each platform serves: national JSON objects, OAI-PMH records, HTML
pages with and without schema.org JSON-LD, MARCXML and Turtle.

Wherever Huiju has a writer (oai_dc, LOM, MARCXML, LRMI JSON-LD) the payload
is written with it, so the demo exercises the same crosswalks partners would
meet; the national feed and Turtle have no writer and are produced here.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

import pymarc
from lxml import etree

from harvester.demo.catalogue import PART_TYPES, digest, stable_uuid
from harvester.demo.platforms import BY_NAME, Item
from schemas.crosswalks import lom, lrmi, oai_dc
from schemas.crosswalks.marc_map import from_record
from schemas.record import Record

CHINA = timezone(timedelta(hours=8))
SCHEMA = "https://schema.org/"
IRI_KEYS = frozenset({"url", "isBasedOn", "license", "thumbnailUrl", "inDefinedTermSet", "sameAs"})


def china_time(value: datetime) -> str:
    """2024-10-10T12:23:22.151+0800, the national platform's time format."""
    return value.astimezone(CHINA).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0800"


@lru_cache(maxsize=4096)
def _tag(seed: int, dimension: str, name: str, order: int) -> dict[str, object]:
    """Cached (a few hundred distinct tags; the feed's objects share them, and only encode them)."""
    tag_id = f"{digest(seed, 'tag', dimension, name):016x}{digest(seed, 'tag2', dimension, name):016x}"
    return {"tag_dimension_id": dimension, "tag_id": tag_id, "tag_name": name, "order_num": order}


def smartedu_object(seed: int, it: Item, record: Record) -> dict[str, object]:
    """One package part as the national feed's part files list it (see the reader in
    schemas/crosswalks/smartedu.py); chapter_paths carry chapter names, not the platform's ids."""
    book, lesson = it.lesson.book, it.lesson
    code, name, ext = PART_TYPES[it.part]
    tags = [_tag(seed, "bklx", "课程包", 6), _tag(seed, "zxxbb", book.edition, 200 + book.index),
            _tag(seed, "zxxcc", book.volume, 230), _tag(seed, "zxxxd", book.stage, 0),
            _tag(seed, "zxxxk", book.subject, 10)]
    if book.stage != "高中":  # the national tree has no grade level under 高中
        tags.insert(3, _tag(seed, "zxxnj", book.grade, 10))
    chapters = record.curriculum.chapter_path
    chapter_ids = [stable_uuid(seed, "chapter", book.index, *chapters[: n + 1]) for n in range(len(chapters))]
    properties: dict[str, object] = {"size": record.size, "global_resource_id": record.source_record_id,
                                     "format": ext, "alias_name": name, "thumbnails": []}
    if record.duration:
        properties["duration"] = record.duration
    created, changed = record.created or datetime.now(UTC), record.modified or datetime.now(UTC)
    return {
        "id": record.source_record_id,
        "title": record.title,
        "description": record.description,
        "language": "zh-CN",
        "resource_type_code": code,
        "resource_type_code_name": name,
        "tag_list": tags,
        "chapter_ids": chapter_ids,
        "chapter_paths": ["/".join(chapters)],
        "teachmeterial_ids": [stable_uuid(seed, "book", book.index)],
        "create_time": china_time(created),
        "update_time": china_time(changed),
        "online_time": china_time(changed),
        "status": "OFFLINE" if it.deleted else "ONLINE",
        "custom_properties": properties,
        "ti_items": [{"ti_md5": record.file_md5, "ti_size": record.size, "ti_file_flag": "source",
                      "ti_is_source_file": True, "ti_format": ext}],
        "teacher_list": [{"name": a.name} for a in record.agents if a.role == "teacher"],
        "provider_list": [{"name": a.name} for a in record.agents if a.role == "provider"],
        "container_id": stable_uuid(seed, "lesson", lesson.owner, lesson.serial),
        "tenant_id": "1",
    }


# -- OAI-PMH ----------------------------------------------------------------------------------

METADATA_WRITERS = {"oai_dc": oai_dc.write, "lom": lom.write}


def oai_record(prefix: str, record: Record, datestamp: str, set_spec: str, *, deleted: bool,
               header_only: bool = False) -> etree._Element:
    """<record> (or a bare <header> for ListIdentifiers) in the OAI-PMH namespace."""
    ns = "http://www.openarchives.org/OAI/2.0/"
    header = etree.Element(f"{{{ns}}}header")
    if deleted:
        header.set("status", "deleted")
    etree.SubElement(header, f"{{{ns}}}identifier").text = record.source_record_id
    etree.SubElement(header, f"{{{ns}}}datestamp").text = datestamp
    etree.SubElement(header, f"{{{ns}}}setSpec").text = set_spec
    if header_only:
        return header
    element = etree.Element(f"{{{ns}}}record")
    element.append(header)
    if not deleted:
        metadata = etree.SubElement(element, f"{{{ns}}}metadata")
        metadata.append(METADATA_WRITERS[prefix](record))
    return element


# -- HTML -----------------------------------------------------------------------------------------

def jsonld(record: Record) -> str:
    doc = lrmi.write(record)
    doc["@id"] = record.url
    doc["url"] = record.url
    return json.dumps(doc, ensure_ascii=False, indent=1).replace("</", "<\\/")


def page(title: str, site: str, body: str, *, head: str = "", css: str = "") -> str:
    return (f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)} - {html.escape(site)}</title>{head}"
            f"<style>{css}</style></head>\n<body>{body}</body></html>\n")


def lesson_body(record: Record, site: str, back: str) -> str:
    c = record.curriculum
    facts = [("学段", c.stage.zh if c.stage else ""), ("年级", c.grade_label or ""),
             ("学科", c.subject.zh if c.subject else ""), ("版本", c.edition.label if c.edition else ""),
             ("册次", c.volume.zh if c.volume else ""), ("章节", " / ".join(c.chapter_path)),
             ("类型", record.resource_type.zh if record.resource_type else ""),
             ("教师", "、".join(a.name for a in record.agents if a.role == "teacher"))]
    rows = "".join(f"<li><b>{k}</b>：{html.escape(v)}</li>" for k, v in facts if v)
    return (f'<header><a href="/">{html.escape(site)}</a></header><main><h1>{html.escape(record.title)}</h1>'
            f"<ul class=\"meta\">{rows}</ul><p class=\"intro\">{html.escape(record.description or '')}</p>"
            f'<p><a href="{html.escape(back)}">返回列表</a></p></main>')


def archive_body(record: Record, site: str, raw: dict[str, str], back: str) -> str:
    """A plain-HTML detail page of the old 资源库: a table, no structured data at all."""
    rows = []
    for label, value in raw.items():
        if label == "章节":
            cells = "".join(f"<span>{html.escape(v)}</span>" for v in value.split(" > ") if v)
        else:
            cells = html.escape(value)
        rows.append(f"<tr><th>{label}</th><td>{cells}</td></tr>")
    return (f'<div class="top">{html.escape(site)} · 教研资源库</div><div class="detail">'
            f"<h2 class=\"zy-title\">{html.escape(record.title)}</h2>"
            f'<table class="zy-info">{"".join(rows)}</table>'
            f"<div class=\"zy-summary\">{html.escape(record.description or '')}</div>"
            f'<a href="{html.escape(back)}">返回资源库</a></div>')


def pager(current: int, pages: int, link) -> str:  # noqa: ANN001 - link: page number -> URL
    parts = []
    if current > 1:
        parts.append(f'<a class="prev" href="{link(current - 1)}">上一页</a>')
    for n in range(max(1, current - 3), min(pages, current + 3) + 1):
        parts.append(f"<span>{n}</span>" if n == current else f'<a href="{link(n)}">{n}</a>')
    if current < pages:
        parts.append(f'<a class="next" href="{link(current + 1)}">下一页</a>')
    return f'<div class="pager">{"".join(parts)} 共{pages}页</div>'


def sitemap(urls: list[tuple[str, datetime]]) -> bytes:
    rows = "".join(f"<url><loc>{html.escape(u)}</loc><lastmod>{d.date().isoformat()}</lastmod></url>"
                   for u, d in urls)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{rows}</urlset>\n").encode()


def sitemap_index(urls: list[str]) -> bytes:
    rows = "".join(f"<sitemap><loc>{html.escape(u)}</loc></sitemap>" for u in urls)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{rows}</sitemapindex>\n").encode()


# -- MARC and Turtle ------------------------------------------------------------------------------

MARC_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<collection xmlns="http://www.loc.gov/MARC21/slim">\n'
MARC_TAIL = b"</collection>\n"


def marc_record(record: Record) -> bytes:
    """One MARCXML <record> written by Huiju's own MARC profile (schemas/crosswalks/marc_map.py)."""
    data = pymarc.record_to_xml(from_record(record), namespace=True)
    return data + b"\n"


TURTLE_HEAD = (f"@prefix schema: <{SCHEMA}> .\n@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
               f"# {BY_NAME['partner'].label} 资源共享数据（schema.org / LRMI）\n\n").encode()


def _literal(value: object) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{text}"'


def _object(key: str, value: object, indent: str) -> str:
    if isinstance(value, dict):
        return "[\n" + _properties(value, indent + "  ") + f"\n{indent}]"
    if isinstance(value, str) and key in IRI_KEYS and ":" in value and " " not in value:
        return f"<{value}>"
    return _literal(value)


def _properties(node: dict[str, object], indent: str) -> str:
    lines = []
    types = node.get("@type")
    if types:
        names = types if isinstance(types, list) else [types]
        lines.append(f"{indent}a " + ", ".join(f"schema:{t}" for t in names))
    for key, value in node.items():
        if key.startswith("@"):
            continue
        values = value if isinstance(value, list) else [value]
        lines.append(f"{indent}schema:{key} " + ", ".join(_object(key, v, indent) for v in values))
    return " ;\n".join(lines)


def turtle(record: Record) -> bytes:
    """One resource in Turtle, from the LRMI writer's JSON-LD (same properties, no JSON-LD parser)."""
    doc = lrmi.write(record)
    return (f"<{record.url}>\n" + _properties(doc, "  ") + " .\n\n").encode()
