"""Source definitions are validated before anything is registered."""

from __future__ import annotations

from pathlib import Path

import pytest

from harvester.sources import SourceSpec, load_toml, option_value, parse_option, schedule_problem


@pytest.mark.parametrize("text", ["", "6h", "every 30m", "1d", "0 3 * * *", "*/15 * * * mon-fri", "@daily"])
def test_schedules_accepted(text: str) -> None:
    assert schedule_problem(text) is None


@pytest.mark.parametrize("text", ["sometimes", "0 3 * *", "every", "3 o'clock"])
def test_schedules_refused(text: str) -> None:
    assert "cron expression" in (schedule_problem(text) or "")


def test_options_are_typed_like_toml() -> None:
    assert parse_option("delay=1.5") == ("delay", 1.5)
    assert parse_option("full=true") == ("full", True)
    assert parse_option("retries=3") == ("retries", 3)
    assert parse_option("set=math:grade7") == ("set", "math:grade7")
    assert option_value("abc") == "abc"
    with pytest.raises(ValueError):
        parse_option("novalue")


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    spec = SourceSpec("bad name!", "gopher", "", "county", {"format": "pdf", "delay": "soon", "retries": "x"},
                      "whenever")
    problems = "\n".join(spec.problems())
    for expected in ("name 'bad name!'", "kind 'gopher'", "level 'county'", "no location", "format='pdf'",
                     "delay='soon'", "retries='x'", "schedule 'whenever'"):
        assert expected in problems
    assert SourceSpec("lib", "marc", str(tmp_path / "none.mrc"), "school").problems() == [
        f"lib: file {str(tmp_path / 'none.mrc')!r} does not exist"]
    assert SourceSpec("crawler", "crawl", "https://x.example/", "school", {"max_pages": 5}).problems() == []
    assert "bad crawl option" in SourceSpec("crawler", "crawl", "https://x.example/", "school",
                                            {"depth": 2}).problems()[0]  # the crawler checks its own options


def test_toml_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[sources.a\n")
    assert "broken.toml" in load_toml(broken)[1][0]
    empty = tmp_path / "empty.toml"
    empty.write_text("title = 'x'\n")
    assert "no [sources.NAME] tables" in load_toml(empty)[1][0]
    two = tmp_path / "two.toml"
    two.write_text('[sources.a]\nkind = "oai"\nurl = "https://x/oai"\npath = "/x"\nlevel = "school"\n')
    assert load_toml(two)[1] == ["a: give only one of url, path, location"]
