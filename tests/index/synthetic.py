"""Synthetic works with realistic titles and facet distributions.

Shared by the backend test suite (a few hundred works) and
benchmarks/search_tantivy.py (up to a million). Deterministic for a seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache

from schemas.record import Agent, Curriculum, Record, Term
from schemas.vocab import edition_term, grade_entries, vocabulary

TOPICS: dict[str, list[str]] = {
    "math": [
        "勾股定理",
        "圆的面积",
        "一元二次方程",
        "二次函数",
        "平行四边形的面积",
        "三角形内角和",
        "乘法分配律",
        "分数的意义",
        "百分数的应用",
        "有理数的加法",
        "平面直角坐标系",
        "全等三角形",
        "等差数列",
        "正弦定理",
        "因式分解",
        "鸡兔同笼",
        "长方体的体积",
        "轴对称图形",
    ],
    "chinese": [
        "静夜思",
        "背影",
        "桃花源记",
        "荷塘月色",
        "从百草园到三味书屋",
        "春晓",
        "岳阳楼记",
        "孔乙己",
        "汉语拼音",
        "口语交际：请你帮个忙",
        "快乐读书吧",
        "木兰诗",
    ],
    "english": [
        "Unit 1 Hello",
        "Unit 2 My family",
        "Unit 3 At the zoo",
        "Module 4 Colours",
        "Unit 5 What's your hobby",
        "Unit 6 Travel",
    ],
    "physics": [
        "牛顿第一定律",
        "欧姆定律",
        "浮力",
        "压强",
        "光的折射",
        "凸透镜成像",
        "电磁感应",
        "自由落体运动",
        "机械能守恒",
    ],
    "chemistry": ["氧化还原反应", "质量守恒定律", "元素周期表", "化学方程式", "原电池", "酸碱中和"],
    "biology": ["光合作用", "呼吸作用", "细胞分裂", "生态系统", "遗传规律", "食物链和食物网"],
    "history": ["鸦片战争", "辛亥革命", "五四运动", "丝绸之路", "商鞅变法", "改革开放"],
    "geography": ["地球自转", "经纬网", "等高线地形图", "季风气候", "水循环", "人口迁移"],
    "ethics-law": ["依法治国", "社会主义核心价值观", "友谊的天空", "走进法治天地"],
    "science": ["植物的生长", "水的三态变化", "磁铁的性质", "声音的产生"],
    "music": ["欢乐颂", "茉莉花", "音乐的节奏"],
    "fine-arts": ["色彩的冷暖", "线条的魅力", "剪纸"],
}
SUBJECTS_BY_STAGE = {
    "primary": (
        ["chinese", "math", "english", "science", "ethics-law", "music", "fine-arts"],
        [30, 30, 15, 8, 7, 5, 5],
    ),
    "junior": (
        [
            "chinese",
            "math",
            "english",
            "physics",
            "chemistry",
            "biology",
            "history",
            "geography",
            "ethics-law",
        ],
        [18, 20, 14, 10, 7, 8, 8, 8, 7],
    ),
    "senior": (
        ["chinese", "math", "english", "physics", "chemistry", "biology", "history", "geography"],
        [16, 20, 14, 14, 12, 10, 7, 7],
    ),
}
EDITIONS = (
    ["pep", "tongbian", "bnu", "sujiao", "hujiao", "fltrp", "xj", "lk", "yl", "jj"],
    [34, 18, 12, 8, 6, 5, 5, 4, 4, 4],
)
TYPES = (
    ["micro-lecture", "courseware", "lesson-plan", "exercise", "task-sheet", "recorded-lesson", "exam"],
    [30, 25, 15, 10, 8, 7, 5],
)
FORMATS = {
    "micro-lecture": "video/mp4",
    "recorded-lesson": "video/mp4",
    "courseware": "application/vnd.ms-powerpoint",
    "exam": "application/pdf",
    "lesson-plan": "application/msword",
    "exercise": "application/pdf",
    "task-sheet": "application/pdf",
}
LEVELS = (["national", "provincial", "municipal", "district", "school"], [10, 30, 30, 25, 5])
SOURCES = [
    "smartedu",
    "zhejiang",
    "jiangsu",
    "guangdong",
    "beijing",
    "shanghai",
    "sichuan",
    "henan",
    "yxsk",
    "local",
]
HONOURS = (["部优", "省优", "市优", "县优", ""], [4, 8, 10, 10, 68])
REVIEW = (["approved", "pending", "unreviewed", "rejected"], [70, 15, 12, 3])
HOURS = ["第一课时", "第二课时", "第三课时"]
TEACHERS = ["王芳", "李静", "张伟", "刘洋", "陈敏", "杨磊", "赵丽", "黄强"]
DESCRIPTIONS = [
    "本节课围绕{t}展开，通过情境导入和小组合作探究，引导学生理解{t}的核心概念，体会{s}学习的乐趣，"
    "并能运用所学知识解决简单的实际问题。课后布置分层作业，巩固所学。",
    "{t}是{g}{s}的重要内容。本课以问题驱动，结合动画演示与课堂练习，帮助学生掌握方法、发展思维，"
    "落实核心素养。教师可根据学情调整教学节奏和练习难度。",
    "这是一节关于{t}的{r}，适用于{e}{g}{s}教学，包含学习目标、重点难点、教学过程和课后反思等环节，"
    "可供教师备课参考，也可用于学生课前预习。",
]


def _pick(rng: random.Random, table: tuple[list, list]) -> object:
    return rng.choices(table[0], weights=table[1])[0]


@cache
def _term(vocab: str, code: str) -> Term:
    return vocabulary(vocab).term(code)


_edition = cache(edition_term)


@cache
def _grades(stage: str) -> list[int]:
    return [g for g, e in grade_entries().items() if e["stage"] == stage]


@cache
def _grade_label(grade: int) -> str:
    return grade_entries()[grade]["zh"]


def synthetic_work(rng: random.Random, n: int) -> tuple[str, Record, list[Record]]:
    """(work_id, canonical, members) for the n-th synthetic work."""
    stage_code = rng.choices(["primary", "junior", "senior"], weights=[45, 30, 25])[0]
    grade = rng.choice(_grades(stage_code))
    subject_code = _pick(rng, SUBJECTS_BY_STAGE[stage_code])
    edition_code = (
        "tongbian"
        if subject_code in ("chinese", "history", "ethics-law") and rng.random() < 0.8
        else _pick(rng, EDITIONS)
    )
    type_code = _pick(rng, TYPES)
    topic = rng.choice(TOPICS[subject_code])
    hour = rng.choice(HOURS)
    stage = _term("stages", stage_code)
    subject = _term("subjects", subject_code)
    rtype = _term("resource_types", type_code)
    edition = _edition(edition_code)
    volume = _term("volumes", rng.choice(["vol1", "vol2"]))
    grade_label = _grade_label(grade)
    title = f"{topic}（{hour}）" if rng.random() < 0.7 else f"{topic} {rtype.zh}"
    description = rng.choice(DESCRIPTIONS).format(
        t=topic, s=subject.zh, g=grade_label, r=rtype.zh, e=edition.label
    )
    base = datetime(2019, 1, 1, tzinfo=UTC)
    stamp = base + timedelta(seconds=rng.randrange(0, 6 * 365 * 86400))
    level = _pick(rng, LEVELS)
    honour = _pick(rng, HONOURS)
    records = []
    for k in range(rng.choices([1, 2, 3], weights=[70, 22, 8])[0]):
        complete = rng.random()
        records.append(
            Record(
                source=SOURCES[(n + k * 3) % len(SOURCES)] if k else rng.choice(SOURCES),
                source_record_id=f"{n}-{k}",
                title=title,
                description=description if complete > 0.15 else None,
                keywords=[topic, subject.zh] if complete > 0.5 else [],
                curriculum=Curriculum(
                    stage=stage,
                    school_system="6-3",
                    grade=grade,
                    grade_label=grade_label,
                    subject=subject,
                    edition=edition if complete > 0.1 else None,
                    volume=volume if complete > 0.3 else None,
                    chapter_path=[f"第{rng.randint(1, 8)}单元", topic] if complete > 0.25 else [],
                    class_hour=HOURS.index(hour) + 1,
                ),
                resource_type=rtype,
                format=FORMATS[type_code],
                duration=f"PT{rng.randint(5, 45)}M{rng.randint(0, 59)}S"
                if FORMATS[type_code].startswith("video")
                else None,
                thumbnails=[f"https://example.org/t/{n}.jpg"] if complete > 0.4 else [],
                agents=[Agent(name=rng.choice(TEACHERS), role="teacher")] if complete > 0.35 else [],
                source_level=level if k == 0 else rng.choice(LEVELS[0]),
                honours=[honour] if honour and k == 0 else [],
                licence="CC-BY-4.0" if complete > 0.6 else None,
                datestamp=stamp - timedelta(days=30 * k),
            )
        )
    return f"w{n:07d}", records[0], records


def synthetic_works(count: int, seed: int = 7) -> Iterator[tuple[str, Record, list[Record], dict]]:
    """(work_id, canonical, members, extra) for `count` works."""
    rng = random.Random(seed)
    for n in range(count):
        work_id, canonical, members = synthetic_work(rng, n)
        yield work_id, canonical, members, {"review_status": _pick(rng, REVIEW)}
