"""A small, deterministic sample of Chinese K-12 lesson records.

A fixed, in-process fixture for tests that want a small store without
servers (`huiju demo` itself runs the live platforms of harvester/demo):
generated from a handful of real textbook chapters, three sources
republishing each other's lessons the way real platforms do (decorated
titles, another edition spelling, Traditional characters).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import opencc

from repository.ingest import ensure_source, store_results
from repository.store import Store
from schemas.normalise import build_curriculum, normalise_resource_type
from schemas.record import Agent, Identifier, Record

_to_traditional = opencc.OpenCC("s2t").convert

# (stage, grade, subject, edition, volume, chapter, lessons)
CHAPTERS = [
    ("初中", "八年级", "数学", "人教版", "下册", "第十七章 勾股定理", ["勾股定理", "勾股定理的逆定理"]),
    ("初中", "七年级", "数学", "人教版", "上册", "第二章 整式的加减", ["整式", "整式的加减"]),
    ("初中", "九年级", "数学", "北师大版", "上册", "第二章 一元二次方程",
     ["认识一元二次方程", "用配方法求解一元二次方程"]),
    ("小学", "六年级", "数学", "人教版", "上册", "第五单元 圆", ["圆的认识", "圆的周长", "圆的面积"]),
    ("小学", "六年级", "数学", "北师大版", "上册", "第一单元 圆", ["圆的认识", "圆的面积"]),
    ("初中", "八年级", "物理", "人教版", "下册", "第十章 浮力", ["浮力", "阿基米德原理", "物体的浮沉条件及应用"]),
    ("初中", "七年级", "语文", "统编版", "上册", "第一单元", ["春", "济南的冬天", "雨的四季"]),
    ("高中", "高一", "数学", "人教A版", "必修 第一册", "第一章 集合与常用逻辑用语", ["集合的概念", "集合间的基本关系"]),
    ("高中", "高一", "化学", "人教版", "必修 第一册", "第一章 物质及其变化", ["物质的分类及转化", "离子反应"]),
    ("小学", "三年级", "英语", "人教版（PEP）", "上册", "Unit 1 Hello!", ["Let's talk", "Let's learn"]),
    ("初中", "八年级", "生物学", "人教版", "上册", "第五单元 第一章 动物的主要类群", ["腔肠动物和扁形动物", "鱼"]),
    ("初中", "七年级", "道德与法治", "统编版", "上册", "第一单元 成长的节拍", ["中学时代", "学习伴成长"]),
]

TYPES = ["微课视频", "课件", "教学设计", "学习任务单", "课后练习"]
TEACHERS = ["王丽", "李强", "张敏", "刘洋", "陈静", "杨帆", "赵磊", "黄婷"]
SCHOOLS = ["北京市第一中学", "海淀区实验小学", "朝阳区第二中学", "东城区育才学校"]

SOURCES = {
    "national": ("国家中小学智慧教育平台", "national"),
    "city": ("北京市基础教育资源平台", "municipal"),
    "district": ("海淀区课程平台", "district"),
}


def _record(source: str, n: int, rng: random.Random, lesson: tuple, *, variant: int) -> Record:
    stage, grade, subject, edition, volume, chapter, title, hour, rtype = lesson
    name, level = SOURCES[source]
    shown_title = f"{title}（第{hour}课时）"
    edition_text = edition
    if source == "city":
        shown_title = f"【市级优课】{shown_title}"
        edition_text = edition.replace("统编版", "部编版").replace("人教版", "人民教育出版社")
    elif source == "district" and variant % 3 == 0:
        shown_title = f"{shown_title}（微课）" if rtype == "微课视频" else shown_title
    grade_text = {"七年级": "初一", "八年级": "初二", "九年级": "初三"}.get(grade, grade) if source == "city" else grade
    curriculum, unmapped = build_curriculum(
        {"stage": stage, "grade": grade_text, "subject": subject, "edition": edition_text,
         "volume": volume, "chapter": [chapter, title], "class_hour": f"第{hour}课时"}
    )
    teacher = TEACHERS[(n + hour) % len(TEACHERS)]
    created = datetime(2023, 9, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 700))
    description = f"{edition}{grade}{subject}{volume}《{title}》第{hour}课时{rtype}，{teacher}老师执教。"
    if source == "district":
        description = description[: max(12, len(description) // 2)] + "…"
    key = "|".join((edition, grade, subject, title, str(hour), rtype)).encode()
    national_id = "nat-" + hashlib.blake2b(key, digest_size=6).hexdigest()
    return Record(
        source=source,
        source_record_id=f"{source}-{n:05d}",
        url=f"https://{source}.example.edu.cn/lesson/{n:05d}",
        identifiers=[Identifier("smartedu", national_id)] if source != "district" else [],
        title=_to_traditional(shown_title) if source == "district" and variant % 4 == 0 else shown_title,
        description=description,
        keywords=[subject, title],
        language="zh",
        curriculum=curriculum,
        resource_type=normalise_resource_type(rtype),
        format="video/mp4" if rtype == "微课视频" else "application/pdf",
        duration=f"PT{rng.randint(6, 14)}M{rng.randint(0, 59)}S" if rtype == "微课视频" else None,
        agents=[Agent(name=teacher, role="teacher", school=SCHOOLS[n % len(SCHOOLS)]),
                Agent(name=name, role="provider", kind="organization")],
        source_level=level,
        honours=["市优"] if source == "city" else [],
        licence="CC-BY-NC-4.0" if source != "national" else None,
        rights="版权所有 国家中小学智慧教育平台" if source == "national" else None,
        created=created,
        modified=created + timedelta(days=rng.randint(0, 30)),
        unmapped=unmapped,
    )


def lessons() -> list[tuple]:
    out = []
    for stage, grade, subject, edition, volume, chapter, titles in CHAPTERS:
        for title in titles:
            for hour in (1, 2):
                for rtype in TYPES:
                    out.append((stage, grade, subject, edition, volume, chapter, title, hour, rtype))
    return out


def sample_records(seed: int = 20261124) -> Iterator[Record]:
    """All lessons from the national source; about half republished by the
    city platform and a third by the district platform."""
    rng = random.Random(seed)
    for n, lesson in enumerate(lessons()):
        yield _record("national", n, rng, lesson, variant=n)
        if rng.random() < 0.5:
            yield _record("city", n, rng, lesson, variant=n)
        if rng.random() < 0.35:
            yield _record("district", n, rng, lesson, variant=n)


def load_sample(store: Store, *, batch_size: int = 1000) -> Iterator[str]:
    """Import the sample records source by source (one succeeded run each); yields progress lines."""
    by_source: dict[str, list[Record]] = {}
    for record in sample_records():
        by_source.setdefault(record.source, []).append(record)
    for name, records in by_source.items():
        label, level = SOURCES[name]
        source = ensure_source(store, name, kind="file", location=f"sample:{label}", level=level)
        run = store.start_run(source)
        report = store_results(store, source, records, run=run, batch_size=batch_size, level=level)
        store.finish_run(run, status="succeeded", counts={
            "added": report.added, "updated": report.updated, "unchanged": report.unchanged,
            "deleted": report.deleted, "quarantined": report.rejected}, errors=[])
        yield f"{name} ({label}, {level}): {report.summary()}"
