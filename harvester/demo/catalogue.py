"""The lessons the demo platforms publish: textbooks → sections → class hours → package parts.

Everything is a pure function of (seed, index): a platform asks for its
item 123,456 without generating the 123,455 before it, so a server can page
through a million records and a test can compare two runs byte for byte.
The textbooks are facts authored in data/textbooks.json; teachers, schools
and wording are drawn from small pools here by hashing, never by a shared
random stream (whose state would tie every item to all the items before it).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

PART_TYPES: tuple[tuple[str, str, str], ...] = (
    ("micro_lesson_video", "微课视频", "mp4"),
    ("coursewares", "课件", "pptx"),
    ("lesson_plandesign", "教学设计", "docx"),
    ("learning_task", "学习任务单", "docx"),
    ("after_class_exercise", "课后练习", "pdf"),
)
"""The national lesson package (课程包) parts: resource_type_code, Chinese name, file format."""

MIME = {
    "mp4": "video/mp4", "pdf": "application/pdf",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}

SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓"
            "许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹"
            "熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段钱汤尹黎易常武乔贺赖龚文")
GIVEN = tuple("丽 强 敏 洋 静 帆 磊 婷 伟 芳 娜 军 杰 勇 艳 涛 明 超 霞 平 刚 桂英 秀兰 建华 "
              "晓燕 海燕 文博 思远 雅琴 志刚 春梅 宏伟 丹丹 晨曦 佳怡 俊杰 雪梅 立新 玉兰 国庆 "
              "红霞 晓东 亚楠 子涵 振宇 慧敏".split())
TITLES = ("", "", "一级教师", "一级教师", "高级教师", "正高级教师")

SCHOOLS: dict[str, tuple[str, ...]] = {
    "national": ("北京师范大学附属实验中学", "华东师范大学第二附属中学", "东北师范大学附属中学", "人大附中",
                 "南京师范大学附属中学", "清华大学附属小学", "北京第二实验小学", "深圳中学", "成都七中",
                 "杭州学军中学", "武汉市第二中学", "重庆巴蜀中学"),
    "municipal": ("北京市第四中学", "北京市第八中学", "北京市第十一学校", "北京市第一六一中学", "北京景山学校",
                  "北京市西城区师范学校附属小学", "北京市东城区史家胡同小学", "北京市丰台区第二中学"),
    "haidian": ("海淀区中关村第一小学", "海淀区实验小学", "北京市育英学校", "北京市八一学校", "海淀区万泉小学",
                "北京一零一中学", "北京市十一学校龙樾实验中学", "海淀区教师进修学校附属实验学校"),
    "chaoyang": ("朝阳区芳草地国际学校", "朝阳区白家庄小学", "北京市陈经纶中学", "北京市第八十中学",
                 "朝阳区实验小学", "北京中学", "朝阳外国语学校"),
    "chaoyang-archive": ("朝阳区教育研究中心", "朝阳区呼家楼中心小学", "北京市第十七中学", "朝阳区实验小学"),
    "library": ("海淀区教师发展中心", "北京市育英学校", "北京一零一中学"),
    "partner": ("香港培正中學", "澳門濠江中學", "香港華仁書院", "澳門培道中學", "香港培正小學", "澳門濠江小學"),
}

ACTIVITIES = {
    "语文": ("朗读品味", "圈点批注", "情境朗诵", "小组合作研读"),
    "数学": ("动手操作", "观察、猜想、验证", "合作探究", "情境导入", "数形结合"),
    "英语": ("情景对话", "听说训练", "任务型活动", "角色扮演"),
    "物理": ("实验探究", "演示实验", "生活现象分析", "控制变量实验"),
    "化学": ("分组实验", "宏观与微观结合", "实验探究", "生活情境导入"),
    "科学": ("动手实验", "观察记录", "模型制作", "小组探究"),
}
ACTIVITY_DEFAULT = ("情境导入", "小组讨论", "案例分析", "合作探究")
ASPECTS = ("基本概念", "核心内容", "重点与难点", "知识结构", "思想方法")


def digest(seed: int, *parts: object) -> int:
    """A stable 64-bit integer for (seed, parts): the demo's only source of chance."""
    text = "\x1f".join(str(p) for p in (seed, *parts)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def chance(seed: int, *parts: object) -> float:
    """A stable number in [0, 1) for (seed, parts)."""
    return digest(seed, *parts) / 2**64


def pick(options: tuple | list, seed: int, *parts: object):  # noqa: ANN201 - any element type
    return options[digest(seed, *parts) % len(options)]


@lru_cache(maxsize=1 << 16)
def stable_uuid(seed: int, *parts: object) -> str:
    """A UUID-shaped id (the national platform's id style), stable for (seed, parts). Cached: the
    records of a book share its chapters' and the book's ids (most of the national feed's hashing)."""
    text = "\x1f".join(str(p) for p in (seed, *parts)).encode()
    return str(uuid.UUID(bytes=hashlib.blake2b(text, digest_size=16).digest()))


@dataclass(frozen=True)
class Book:
    """One textbook volume as the national platform tags it."""

    index: int
    stage: str
    grade: str
    subject: str
    edition: str
    volume: str
    max_hours: int


@dataclass(frozen=True)
class Section:
    book: Book
    units: tuple[str, ...]  # chapter path above the section (第十七章 勾股定理)
    number: str  # 17.1, 1, 第1节, 课题1 or ""
    name: str  # 勾股定理


@dataclass(frozen=True)
class Lesson:
    """One class hour of one section, taught by one teacher."""

    section: Section
    hour: int  # 1-based
    hours: int  # class hours of the section
    owner: str  # platform whose teacher made it
    serial: int  # which of that owner's lessons (picks teacher and wording)

    @property
    def book(self) -> Book:
        return self.section.book


_NUMBER = re.compile(r"^(\d+(?:\.\d+)*|第[0-9一二三四五六七八九十]+[节课]|课题\d+)\s+(.+)$")


def split_section(text: str) -> tuple[str, str]:
    """("17.1", "勾股定理") from "17.1 勾股定理"; ("", text) when it has no number."""
    match = _NUMBER.match(text)
    return (match.group(1), match.group(2)) if match else ("", text)


@lru_cache(maxsize=1)
def books() -> tuple[Book, ...]:
    raw = json.loads((DATA / "textbooks.json").read_text("utf-8"))["books"]
    return tuple(Book(n, b["stage"], b["grade"], b["subject"], b["edition"], b["volume"], b["max_hours"])
                 for n, b in enumerate(raw))


@lru_cache(maxsize=1)
def sections() -> tuple[Section, ...]:
    raw = json.loads((DATA / "textbooks.json").read_text("utf-8"))["books"]
    out = []
    for book, entry in zip(books(), raw, strict=True):
        for unit, names in entry["units"]:
            for text in names:
                number, name = split_section(text)
                out.append(Section(book, tuple(unit.split("/")), number, name))
    return tuple(out)


@lru_cache(maxsize=8)
def class_hours(seed: int) -> tuple[tuple[int, int, int], ...]:
    """Every (section, hour, hours), in a seeded order that interleaves subjects, so a small
    demo already spans stages and subjects."""
    found = []
    for n, section in enumerate(sections()):
        hours = 1 + digest(seed, "hours", section.book.index, section.name) % section.book.max_hours
        found += [(n, hour, hours) for hour in range(1, hours + 1)]
    random.Random(seed).shuffle(found)
    return tuple(found)


def lesson(seed: int, owner: str, serial: int) -> Lesson:
    """The owner's serial-th lesson. National walks the class hours in order (one package
    each, then again by other teachers); other owners walk them with their own stride."""
    table = class_hours(seed)
    size = len(table)
    if owner == "national":
        position = serial % size
    else:
        stride = 7 + digest(seed, "stride", owner) % 97
        while math.gcd(stride, size) != 1:
            stride += 1
        position = (serial * stride + digest(seed, "offset", owner)) % size
    n, hour, hours = table[position]
    return Lesson(sections()[n], hour, hours, owner, serial)


def is_original(seed: int, lesson: Lesson) -> bool:
    """The national platform's first package of a class hour: described in its house style."""
    return lesson.owner == "national" and lesson.serial < len(class_hours(seed))


@dataclass(frozen=True)
class Person:
    name: str
    school: str
    title: str


def _teaches(school: str, stage: str) -> bool:
    """Whether a school (by its name) has the stage: 小学 only primary, 中学 only secondary, others all."""
    if "小学" in school or "小學" in school:
        return stage == "小学"
    if "中学" in school or "中學" in school or school.endswith(("附中", "书院", "書院", "七中")):
        return stage != "小学"
    return True


@lru_cache(maxsize=4096)  # a record asks twice, and the five parts of a national package share their teacher
def teacher(seed: int, lesson: Lesson) -> Person:
    key = (lesson.owner, lesson.serial)
    name = pick(SURNAMES, seed, "surname", *key) + pick(GIVEN, seed, "given", *key)
    schools = tuple(s for s in SCHOOLS[lesson.owner] if _teaches(s, lesson.book.stage)) or SCHOOLS[lesson.owner]
    return Person(name, pick(schools, seed, "school", *key), pick(TITLES, seed, "title", *key))


OPENINGS = ("执教", "设计并执教", "主讲", "录制", "整理")
APPROACHES = (
    "本课从学生熟悉的生活情境出发引入{name}。", "课堂以问题链推进，逐步揭示{name}的本质。",
    "教师先复习旧知，再自然过渡到{name}的学习。", "借助信息技术手段，直观呈现{name}的形成过程。",
    "以学生活动为中心，让学生在实践中感悟{name}。", "通过对比辨析，帮助学生厘清{name}中的易错点。",
    "围绕{name}设计了层层递进的探究任务。", "本节课注重自主学习，{name}的关键内容由学生归纳得出。",
    "课例采用“学—练—评”一体化设计，落实{name}的教学目标。", "以真实任务驱动，引导学生在解决问题中掌握{name}。",
    "教学中渗透学科核心素养，{name}的重点突出、难点分散。", "以小组合作为主要学习方式，学生展示交流{name}的学习成果。",
)
CLOSINGS = (
    "课后配有分层作业，满足不同层次学生的需要。", "适合作为新授课使用，也可用于复习巩固。",
    "板书设计简洁清晰，便于学生构建知识网络。", "评价环节关注学生的思维过程而非只看结果。",
    "教学节奏紧凑，课堂容量适中。", "资源可直接用于课堂教学，也可供教师研修参考。",
    "教师语言亲切自然，注重师生互动。", "设计了当堂检测，及时反馈学习效果。",
    "拓展环节联系生活实际，激发学生学习兴趣。", "教学反思部分总结了本课的得失与改进方向。",
)
FOCUSES = (
    "重点放在概念的形成过程上。", "特别关注学生的表达与交流。", "注重知识之间的前后联系。", "强调规范书写与严谨表达。",
    "关注学困生的学习体验。", "突出学科思想方法的渗透。", "把时间留给学生思考和讨论。", "设计了有梯度的问题串。",
    "兼顾基础知识与能力提升。", "重视课堂生成与即时评价。", "融入了传统文化元素。", "结合了学校的特色课程。",
)


def description(seed: int, lesson: Lesson, part: int, person: Person) -> str:
    """What one package part is, how it teaches and who made it.

    The national originals share one house style; every other lesson (another
    teacher's take on the same class hour) is worded from pools, so two
    different lessons never look like republications of each other to dedup.
    """
    book, section = lesson.book, lesson.section
    key = (lesson.owner, lesson.serial, part)
    approach = pick(APPROACHES, seed, "approach", *key).format(name=section.name)
    if not is_original(seed, lesson):
        opening = f"{person.school}{person.name}老师{pick(OPENINGS, seed, 'opening', *key)}。"
        return opening + approach + pick(FOCUSES, seed, "focus", *key) + pick(CLOSINGS, seed, "closing", *key)
    activity = pick(ACTIVITIES.get(book.subject, ACTIVITY_DEFAULT), seed, "activity", *key)
    aspect = pick(ASPECTS, seed, "aspect", *key)
    hour = f"第{lesson.hour}课时" if lesson.hours > 1 else ""
    head = (f"本资源为{book.edition.split('（')[0]}{book.grade}{book.subject}{book.volume}"
            f"《{section.name}》{hour}{PART_TYPES[part][1]}。")
    body = f"通过{activity}，帮助学生理解{section.name}的{aspect}"
    detail = {
        0: f"，视频约{8 + digest(seed, 'minutes', *key) % 8}分钟，由{person.school}{person.name}老师主讲。",
        1: f"，课件共{14 + digest(seed, 'slides', *key) % 20}页，配合课堂讲授使用。",
        2: "，包含教学目标、教学重难点、教学过程与板书设计。",
        3: "，包含课前预习、课中探究和课后拓展三个学习任务。",
        4: f"，共{6 + digest(seed, 'items', *key) % 10}道题，分基础巩固与能力提升两部分，附参考答案。",
    }[part]
    return head + approach + body + detail
