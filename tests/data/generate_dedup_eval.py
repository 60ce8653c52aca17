"""Seeded generator of the labelled dedup evaluation set (dedup_eval.jsonl).

Each true work is one lesson resource: (lesson, edition, class hour,
resource type). Its first record is the master as the national (or a
provincial) platform publishes it; 0-5 republications follow on provincial,
municipal, district and school platforms, each with that platform's habits:
title decoration (【市级优课】, （微课）, 《》, "人教版八年级数学上册" prefixes),
Traditional characters, truncated or missing descriptions, missing fields,
new URLs, and sometimes an is_based_on link, a shared national id, the same
file (md5) or the national URL with tracking parameters.

Works that look alike but must never merge share a hard-negative group tag:
same title in two editions, 第1/第2课时 of one lesson, 课件/教学设计 of one
lesson package, 复习课 in two subjects, the same chapter title in two grades.

Each output line: {"work": ..., "hn": tag or null, "record": Record JSON}.
Run: python tests/data/generate_dedup_eval.py [--seed N] [--out PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import opencc

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from schemas.normalise import build_curriculum  # noqa: E402
from schemas.record import Agent, Curriculum, Edition, Identifier, Record, Term, to_dict  # noqa: E402
from schemas.vocab import vocabulary  # noqa: E402
from tests.data.dedup_lessons import (  # noqa: E402
    COPY_LEVELS,
    EDITION_SPELLINGS,
    GIVEN,
    GRADE_SPELLINGS,
    HIGHLIGHTS,
    HOUR_FOCUS,
    LESSONS,
    MASTERS,
    PLATFORMS,
    SAME_TITLE_GRADES,
    SAME_TITLE_SUBJECTS,
    SCHOOLS,
    SUBJECT_EDITION,
    SURNAMES,
    TYPE_DECOR,
    TYPE_OPENERS,
    TYPE_WEIGHTS,
    VOLUME_SPELLINGS,
)

OUT = Path(__file__).with_name("dedup_eval.jsonl")
_s2t = opencc.OpenCC("s2t")


class Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.lines: list[dict] = []
        self.n_works = 0

    def uid(self) -> str:
        return f"{self.rng.getrandbits(64):016x}"

    def date(self, after: datetime | None = None) -> datetime:
        base = after or datetime(2020, 9, 1, tzinfo=UTC)
        return base + timedelta(days=self.rng.randint(1, 700), seconds=self.rng.randint(0, 86399))

    # -- works ------------------------------------------------------------------

    def work(
        self,
        subject: str,
        grade: int,
        volume: str,
        edition: str,
        chapter: str,
        title: str,
        hour: int | None,
        rtype: str,
        hn: str | None,
    ) -> None:
        self.n_works += 1
        label = f"W{self.n_works:05d}"
        rng = self.rng
        teacher = rng.choice(SURNAMES) + rng.choice(GIVEN)
        school = rng.choice(SCHOOLS)
        ed_name = EDITION_SPELLINGS[edition][0]
        subj = vocabulary("subjects").term(subject).zh
        hour_text = f"第{hour}课时，{HOUR_FOCUS[(hour - 1) % 3]}，" if hour else ""
        desc = (
            f"{TYPE_OPENERS[rtype]}内容为{ed_name}{GRADE_SPELLINGS[grade][0]}{subj}{chapter}中的“{title}”。"
            f"{hour_text}{rng.choice(HIGHLIGHTS)}，{rng.choice(HIGHLIGHTS)}。"
            f"由{school}{teacher}老师{'执教' if rtype in ('recorded-lesson', 'micro-lecture') else '设计'}。"
        )
        master_id = self.uid()
        national = rng.random() < 0.7
        if national:
            source, level, pattern = MASTERS[0]
        else:
            (source, pattern), level = rng.choice(PLATFORMS["provincial"]), "provincial"
        url = "https://" + pattern.format(id=master_id)
        md5 = hashlib.md5(master_id.encode()).hexdigest() if rng.random() < 0.6 else None
        created = self.date()
        raw = {
            "stage": None,
            "grade": GRADE_SPELLINGS[grade][0],
            "subject": subj,
            "edition": ed_name,
            "volume": VOLUME_SPELLINGS[volume][0],
            "chapter": chapter,
            "class_hour": f"第{hour}课时" if hour else None,
        }
        master = self.record(
            source,
            master_id,
            level,
            self.master_title(title, hour),
            desc,
            raw,
            rtype,
            url,
            md5,
            created,
            teacher,
            school,
            identifiers=[Identifier("smartedu", master_id)] if national else [],
        )
        self.emit(label, hn, master)
        copies = rng.choices((0, 1, 2, 3, 4, 5), weights=(10, 24, 30, 20, 10, 6))[0]
        previous: list[Record] = [master]
        for _ in range(copies):
            copy = self.republish(
                title,
                chapter,
                hour,
                rtype,
                subject,
                grade,
                volume,
                edition,
                desc,
                raw,
                master,
                national,
                md5,
                previous,
            )
            previous.append(copy)
            self.emit(label, hn, copy)

    def master_title(self, title: str, hour: int | None) -> str:
        if not hour:
            return title
        return self.rng.choice(
            (f"{title} 第{hour}课时", f"{title}（第{hour}课时）", f"{title}（第{'一二三'[hour - 1]}课时）")
        )

    def record(
        self,
        source: str,
        sid: str,
        level: str,
        title: str,
        desc: str | None,
        raw: dict,
        rtype: str | None,
        url: str,
        md5: str | None,
        created: datetime,
        teacher: str,
        school: str,
        identifiers: list[Identifier] | None = None,
        based_on: list[str] | None = None,
    ) -> Record:
        curriculum, _ = build_curriculum(raw)
        curriculum = _lean(curriculum)
        media = vocabulary("resource_types").entries[rtype]["media"] if rtype else None
        return Record(
            source=source,
            source_record_id=sid,
            url=url,
            identifiers=identifiers or [],
            is_based_on=based_on or [],
            title=title,
            description=desc,
            curriculum=curriculum,
            resource_type=Term(code=rtype, zh=vocabulary("resource_types").term(rtype).zh) if rtype else None,
            format="video/mp4" if media == "video" and self.rng.random() < 0.3 else None,
            file_md5=md5,
            agents=[Agent(name=teacher, role="teacher", school=school)],
            source_level=level,
            created=created,
        )

    # -- republication ----------------------------------------------------------

    def republish(
        self,
        title: str,
        chapter: str,
        hour: int | None,
        rtype: str,
        subject: str,
        grade: int,
        volume: str,
        edition: str,
        desc: str,
        raw: dict,
        master: Record,
        national: bool,
        md5: str | None,
        previous: list[Record],
    ) -> Record:
        rng = self.rng
        level = rng.choice(COPY_LEVELS)
        source, pattern = rng.choice(PLATFORMS[level])
        sid = self.uid()
        ed = rng.choice(EDITION_SPELLINGS[edition])
        gr = rng.choice(GRADE_SPELLINGS[grade])
        vol = rng.choice(VOLUME_SPELLINGS[volume])
        subj = vocabulary("subjects").term(subject).zh
        core = f"《{title}》" if subject == "chinese" and grade >= 3 and rng.random() < 0.4 else title
        roll = rng.random()
        if roll < 0.04:
            core += rng.choice(("——新授课", "——探究课", " 情境教学", "（互动课堂）"))
        elif roll < 0.07:  # a subtitle no rule strips: only the description can tell it is the same
            core += rng.choice(("——教学实践", "——课堂教学", " 教学片段", "（教学研讨）"))
        if hour and rng.random() > 0.03:
            n = rng.choice((str(hour), "一二三"[hour - 1], chr(0xFF10 + hour)))
            core += rng.choice((f"第{n}课时", f"（第{n}课时）", f" 第{n}课时"))
        if rng.random() < 0.35:
            core = (
                rng.choice(
                    (f"{ed}{gr}{subj}{vol} ", f"{ed}{subj}{gr}{vol}：", f"{gr}{subj}（{ed}）", f"【{ed}】")
                )
                + core
            )
        elif rng.random() < 0.1:
            core += f"-{ed}{gr}{vol}"
        if rng.random() < 0.25:
            core = (
                rng.choice(
                    (
                        "【市级优课】",
                        "【部级优课】",
                        "【省级优课】",
                        "【区级优课】",
                        "【一师一优课】",
                        "【精品课】",
                        "【公开课】",
                    )
                )
                + core
            )
        if rng.random() < 0.35:
            core += rng.choice(TYPE_DECOR[rtype])
        text = desc
        roll = rng.random()
        if roll < 0.28:
            text = desc[: int(len(desc) * rng.uniform(0.3, 0.7))] + rng.choice(("...", "……", "…"))
        elif roll < 0.42:
            text = None
        if rng.random() < 0.12:
            core, text = _s2t.convert(core), _s2t.convert(text) if text else None
        raw = dict(raw, edition=ed, grade=gr, volume=vol)
        for key, p in (
            ("grade", 0.12),
            ("edition", 0.12),
            ("volume", 0.12),
            ("subject", 0.1),
            ("chapter", 0.3),
            ("class_hour", 0.15),
        ):
            if rng.random() < p:
                raw[key] = None
        kept_type = rtype if rng.random() > 0.12 else None
        url = "https://" + pattern.format(id=sid)
        identifiers: list[Identifier] = []
        based_on: list[str] = []
        if national and rng.random() < 0.15:
            identifiers.append(Identifier("smartedu", master.source_record_id))
        roll = rng.random()
        if roll < 0.12:
            based_on.append(_url_variant(rng, master.url or ""))
        elif roll < 0.18 and national:
            based_on.append(f"smartedu:{master.source_record_id}")
        elif roll < 0.22 and len(previous) > 1:
            based_on.append(previous[-1].url or "")
        if rng.random() < 0.06:
            url = _url_variant(rng, master.url or "")
        copy_md5 = md5 if md5 and rng.random() < 0.2 else None
        return self.record(
            source,
            sid,
            level,
            core,
            text,
            raw,
            kept_type,
            url,
            copy_md5,
            self.date(master.created),
            master.agents[0].name,
            master.agents[0].school,
            identifiers=identifiers,
            based_on=based_on,
        )

    def emit(self, work: str, hn: str | None, record: Record) -> None:
        data = to_dict(record)
        del data["id"]  # derived from source + source_record_id on load
        self.lines.append({"work": work, "hn": hn, "record": data})

    # -- the catalogue ------------------------------------------------------------

    def lesson_family(
        self, subject: str, grade: int, volume: str, editions: tuple[str, ...], chapter: str, title: str
    ) -> None:
        rng = self.rng
        chosen = [editions[0]] + [e for e in editions[1:] if rng.random() < 0.7]
        hours = rng.choices((1, 2, 3), weights=(55, 33, 12))[0]
        if rng.random() < 0.2:  # one lesson package: its 课件 and its 教学设计
            types = ["courseware", "lesson-plan"]
        else:
            types = rng.choices(list(TYPE_WEIGHTS), weights=list(TYPE_WEIGHTS.values()), k=1)
            if rng.random() < 0.35:
                types.append(rng.choice([t for t in TYPE_WEIGHTS if t not in types]))
        kinds = [k for k, n in (("edition", len(chosen)), ("hour", hours), ("type", len(types))) if n > 1]
        hn = f"{'+'.join(kinds)}:{grade}:{title}" if kinds else None
        for edition in chosen:
            for hour in range(1, hours + 1):
                for rtype in types:
                    self.work(
                        subject,
                        grade,
                        volume,
                        edition,
                        chapter,
                        title,
                        hour if hours > 1 else None,
                        rtype,
                        hn,
                    )

    def generate(self) -> list[dict]:
        for subject, grade, volume, editions, chapter, titles in LESSONS:
            for title in titles:
                self.lesson_family(subject, grade, volume, editions, chapter, title)
        for subject, edition, title, grades in SAME_TITLE_GRADES:
            rtype = self.rng.choice(("micro-lecture", "courseware", "recorded-lesson"))
            for grade in grades:
                self.work(subject, grade, "vol1", edition, "", title, None, rtype, f"grade:{subject}:{title}")
        for grade, title, subjects in SAME_TITLE_SUBJECTS:
            rtype = self.rng.choice(("micro-lecture", "courseware", "recorded-lesson"))
            for subject in subjects:
                self.work(
                    subject,
                    grade,
                    "vol1",
                    SUBJECT_EDITION[subject],
                    "",
                    title,
                    None,
                    rtype,
                    f"subject:{grade}:{title}",
                )
        return self.lines


def _lean(c: Curriculum) -> Curriculum:
    """Drop English labels and publisher names: the eval file must stay commit-sized."""

    def term(t: Term | None) -> Term | None:
        return Term(code=t.code, zh=t.zh) if t else None

    edition = Edition(code=c.edition.code, label=c.edition.label) if c.edition else None
    return msgspec.structs.replace(
        c,
        stage=term(c.stage),
        subject=term(c.subject),
        volume=term(c.volume),
        edition=edition,
        grade_label=None,
    )


def _url_variant(rng: random.Random, url: str) -> str:
    """The same URL as another platform copies it: scheme, host case, slash, tracking."""
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    variant = rng.choice(("http", "https", "HTTPS")) + "://" + rng.choice((host, host.upper())) + "/" + path
    if "?" not in variant and rng.random() < 0.5:
        variant += "/"
    if rng.random() < 0.6:
        variant += ("&" if "?" in variant else "?") + rng.choice(
            ("utm_source=wechat&utm_medium=share", "from=timeline", "spm=a2c4e.10696291.0.0")
        )
    return variant


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20240901)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    lines = Gen(args.seed).generate()
    with open(args.out, "w", encoding="utf-8") as out:
        for line in lines:
            out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str) + "\n")
    works = len({line["work"] for line in lines})
    print(f"{len(lines)} records in {works} works -> {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
