"""The message catalogue: every label comes from it, and every locale has every key."""

from __future__ import annotations

import json
import re
from pathlib import Path

from repository.i18n import CATALOGUE_DIR, DEFAULT_LOCALE, locales

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "web" / "templates"
VIEWS = [ROOT / "repository" / "views" / name
         for name in ("pages.py", "browse.py", "labels.py", "work_page.py", "review.py")]
CJK = re.compile(r"[\u4e00-\u9fff]")
# Dynamic keys in templates ("facet." ~ name …) are checked through the values they can take.
DYNAMIC = {
    "facet.": ["stage", "grade", "subject", "edition", "volume", "resource_type", "source_level", "sources",
               "honours", "review_status"],
    "browse.choose.": ["stage", "grade", "subject", "edition", "volume", "chapter"],
    "level.": ["stage", "grade", "subject", "edition", "volume", "chapter"],
    "sort.": ["relevance", "newest", "quality"],
    "review.": ["approved", "pending", "rejected", "returned"],
    "related.": ["lesson", "chapter", "editions"],
    "why.how.": ["identifier", "similarity", "curator-merge"],
    "lang.": ["zh", "en"],
}


def _catalogue(locale: str) -> dict[str, str]:
    return json.loads((CATALOGUE_DIR / f"{locale}.json").read_text("utf-8"))


def test_chinese_first_and_every_locale_complete() -> None:
    assert locales()[0] == DEFAULT_LOCALE == "zh" and "en" in locales()
    keys = set(_catalogue("zh"))
    for locale in locales():
        data = _catalogue(locale)
        assert set(data) == keys, f"{locale}: missing {keys - set(data)}, extra {set(data) - keys}"
        for key, text in data.items():
            fields = set(re.findall(r"{(\w+)}", text))
            assert fields == set(re.findall(r"{(\w+)}", _catalogue("zh")[key])), (locale, key)


def test_every_key_used_exists() -> None:
    keys = set(_catalogue("zh"))
    used: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"_\('([\w.-]+)'[,)]", path.read_text("utf-8")))
    for path in [*VIEWS, ROOT / "repository" / "views" / "api.py"]:
        used |= set(re.findall(r'gettext\("([\w.-]+)"', path.read_text("utf-8")))
    used |= {prefix + value for prefix, values in DYNAMIC.items() for value in values}
    assert used - keys == set()


def test_no_label_is_hard_coded_in_templates_or_views() -> None:
    for path in TEMPLATES.glob("*.html"):
        text = re.sub(r"{#.*?#}", "", path.read_text("utf-8"), flags=re.S)
        assert not CJK.findall(text), f"{path.name}: Chinese text belongs in web/i18n/zh.json"
    for path in VIEWS:
        code = "\n".join(line.split("#")[0] for line in path.read_text("utf-8").splitlines()
                         if not line.strip().startswith(('"', "'"))  # docstrings and comments may explain in Chinese
                         and "# not a label" not in line)  # patterns that parse Chinese text
        strings = re.findall(r'"([^"\n]*)"', code)
        assert not [s for s in strings if CJK.search(s)], path.name
