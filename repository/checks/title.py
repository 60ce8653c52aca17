"""Title and description say something: not a placeholder, not the same text twice.

Platforms fill empty fields with stock text (暂无简介, 无, 待补充, "test"); a
description that only repeats the title tells a teacher nothing more. Both are
compared folded (schemas/text.fold), so Traditional characters, full-width
letters and spacing do not hide them.
"""

from __future__ import annotations

import re

from repository.checks.base import WARN, Context, Finding, Result, Row, folded, squeeze, without_noise
from schemas.record import Record
from schemas.text import fold

CODES = ("title.placeholder", "title.description_placeholder", "title.same_as_description", "title.file_name",
         "title.description_short")
PLACEHOLDERS = frozenset(fold(text) for text in (
    "暂无", "暂无简介", "暂无描述", "暂无介绍", "暂无内容", "无", "无简介", "无描述", "空", "待补充", "待完善", "待定",
    "略", "详见附件", "见附件", "未命名", "无标题", "新建文档", "新建文件夹", "标题", "简介", "描述",
    "内容简介", "测试",
    "test", "testing", "untitled", "title", "description", "null", "none", "n/a", "na", "tbd", "todo", "lorem ipsum",
))
_BARE_FORMS = frozenset(without_noise(text) for text in PLACEHOLDERS)
"""What squeeze() leaves of each placeholder: a text whose folded form is a placeholder squeezes to one of
these, so only such a text is folded again (the rest, nearly every title and description, need not be)."""
FILE_NAME = re.compile(r"\.(pptx?|docx?|pdf|xlsx?|mp4|flv|avi|wmv|swf|zip|rar)$", re.I)
MIN_DESCRIPTION = 10  # no minimum title: 春 and 力 are real lesson names


def is_placeholder(text: str, bare: str | None = None) -> bool:
    """Stock text, in any spelling ("暂无简介。", "【暂無簡介】"), digits only, or nothing but punctuation."""
    bare = squeeze(text) if bare is None else bare
    return (not bare or bare in PLACEHOLDERS or bare.isdigit()
            or (bare in _BARE_FORMS and folded(text) in PLACEHOLDERS))


def check(record: Record, row: Row, context: Context) -> Result:
    findings: list[Finding] = []
    title, description = record.title.strip(), (record.description or "").strip()
    bare_title, bare_description = context.squeeze(title), context.squeeze(description)
    if is_placeholder(title, bare_title):
        findings.append(Finding("title.placeholder", {"text": title[:40]}))
    if FILE_NAME.search(title):
        findings.append(Finding("title.file_name", {"text": title[:40]}, WARN))
    if description:
        if is_placeholder(description, bare_description):
            findings.append(Finding("title.description_placeholder", {"text": description[:40]}))
        elif bare_description == bare_title:
            findings.append(Finding("title.same_as_description"))
        elif len(bare_description) < MIN_DESCRIPTION:
            findings.append(Finding("title.description_short", {"length": len(bare_description)}, WARN))
    return Result.of(findings)
