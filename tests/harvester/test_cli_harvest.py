"""`huiju source …`, `huiju harvest`, `huiju quarantine list` and `huiju remap` as an operator uses them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from repository.cli import main
from repository.settings import Settings
from repository.store import Store
from tests.harvester.oai_support import sickle_app, zenodo_app
from tests.harvester.servers import Server


@pytest.fixture
def huiju(fast_env: dict[str, str]):  # noqa: ANN201
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Result:
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return run


def open_store() -> Store:
    return Store(Settings().database_url)


def test_source_add_list_show(huiju, server: Server, corpus: Path) -> None:  # noqa: ANN001
    server.app = sickle_app(corpus)
    out = huiju("source", "add", "city", "--kind", "oai", "--url", server.url + "/oai", "--level", "municipal",
                "--set", "k12", "--schedule", "0 3 * * *", "--option", "delay=0", "--option", "full=false").output
    assert "added source city (oai, municipal)" in out
    listing = huiju("source", "list").output
    assert re.search(r"^city\s+oai\s+enabled\s+municipal\s+never\s+0$", listing, re.M)
    shown = huiju("source", "show", "city").output
    assert "options:      delay=0 full=False set=k12" in shown and "schedule:     0 3 * * *" in shown
    assert "last runs: none" in shown
    # the same name twice, bad level, bad option, bad schedule: clear refusals
    again = huiju("source", "add", "city", "--kind", "oai", "--url", server.url, "--level", "municipal", code=1)
    assert "exists" in again.output
    bad = huiju("source", "add", "x", "--kind", "oai", "--url", "ftp://x", "--level", "school",
                "--option", "colour=red", "--schedule", "sometimes", code=1).output
    assert "http(s) URL" in bad and "unknown option(s) colour" in bad and "schedule 'sometimes'" in bad
    assert huiju("source", "add", "y", "--kind", "oai", "--level", "school", code=2).output


def test_harvest_prints_progress_lines_and_a_summary(huiju, server: Server, corpus: Path) -> None:  # noqa: ANN001
    server.app = zenodo_app(corpus)
    huiju("source", "add", "zen", "--kind", "oai", "--url", server.url + "/oai", "--level", "provincial")
    result = huiju("harvest", "zen")
    assert "zen: page 1, 3/8091628 records" in result.stderr and "ETA" in result.stderr
    assert re.search(r"zen: #1 succeeded .*: 3 pages, 8 added, 0 updated, 0 deleted, 1 unchanged", result.stdout)
    listing = huiju("source", "list").output
    assert re.search(r"^zen\s+oai\s+enabled\s+provincial\s+succeeded \S+ \S+\s+8$", listing, re.M)
    shown = huiju("source", "show", "zen").output
    assert "granularity=YYYY-MM-DDThh:mm:ssZ" in shown and "#1 succeeded" in shown
    assert "records:      8 (0 deleted)" in shown


def test_harvest_all_and_failures_exit_nonzero(huiju, server: Server, corpus: Path, tmp_path: Path) -> None:  # noqa: ANN001
    server.app = sickle_app(corpus)
    huiju("source", "add", "a", "--kind", "oai", "--url", server.url + "/oai", "--level", "school")
    huiju("source", "add", "b", "--kind", "marc", "--path", str(corpus / "marc/pymarc/test.dat"), "--level", "school")
    assert "a: #1 succeeded" in huiju("harvest", "--all").stdout
    huiju("source", "add", "c", "--kind", "oai", "--url", "http://127.0.0.1:9/oai", "--level", "school")
    failed = huiju("harvest", "c", code=1).stdout
    assert "c: #3 failed" in failed and "Identify" in failed
    assert huiju("harvest", code=2).output and huiju("harvest", "nope", code=1).output
    assert "no source named 'nope'" in huiju("harvest", "nope", code=1).stderr


def test_quarantine_list_and_remap(huiju, server: Server, corpus: Path) -> None:  # noqa: ANN001
    server.app = sickle_app(corpus)
    assert "quarantine is empty" in huiju("quarantine", "list").output
    huiju("source", "add", "s", "--kind", "oai", "--url", server.url + "/oai", "--level", "school")
    huiju("harvest", "s")
    out = huiju("quarantine", "list", "--source", "s").output
    assert re.search(r"^#\d+ s run 1 map\s+record 1 \(\d+ bytes\): deleted record has no identifier$", out, re.M)
    assert "no source named" in huiju("quarantine", "list", "--source", "zz", code=1).output
    remapped = huiju("remap", "s").output
    assert "s: 1 read: 0 added, 0 updated, 1 unchanged" in remapped  # one stored record, one payload
    with open_store() as store:
        assert store.count_records(source="s") == 1
    assert "no source named" in huiju("remap", "nope", code=1).output


def test_source_load_registers_many_and_is_all_or_nothing(huiju, tmp_path: Path, corpus: Path) -> None:  # noqa: ANN001
    good = tmp_path / "sources.toml"
    good.write_text(f'''
[sources.national]
kind = "smartedu"
url = "https://s-file-1.ykt.cbern.com.cn/zxx/ndrs/national_lesson/teachingmaterials/version/data_version.json"
level = "national"
schedule = "1d"

[sources.city-oai]
kind = "oai"
url = "https://res.example.edu.cn/oai"
level = "municipal"
prefix = "lom"
set = "k12"
schedule = "0 3 * * *"
[sources.city-oai.options]
delay = 1.5

[sources.library]
kind = "marc"
path = "{corpus / 'marc/pymarc/test.dat'}"
level = "district"
enabled = false
''', "utf-8")
    out = huiju("source", "load", str(good)).output
    assert out.splitlines() == ["national: added", "city-oai: added", "library: added"]
    assert huiju("source", "load", str(good)).output.count("unchanged") == 3
    with open_store() as store:
        city = store.get_source("city-oai")
        assert city.options == {"delay": 1.5, "prefix": "lom", "set": "k12"} and city.schedule == "0 3 * * *"
        assert store.get_source("library").enabled is False
    bad = tmp_path / "bad.toml"
    bad.write_text('[sources.one]\nkind = "oai"\nurl = "https://x/oai"\nlevel = "school"\n'
                   '[sources.two]\nkind = "rss"\nurl = "https://x"\nlevel = "county"\nfrequency = 3\n', "utf-8")
    refused = huiju("source", "load", str(bad), code=1).output
    assert "nothing registered" in refused and "unknown key(s) frequency" in refused
    with open_store() as store:
        assert store.get_source("one") is None


def test_every_command_has_one_line_help(huiju) -> None:  # noqa: ANN001
    out = huiju("--help").output
    for command in ("source", "harvest", "quarantine", "remap"):
        assert re.search(rf"^\s+{command}\s+\S", out, re.M), command


def test_terminal_progress_rewrites_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from harvester.runner import Progress
    from repository.cli_harvest import _Display

    display = _Display("city", tty=True)
    display(Progress(pages=1, records=500, rate=250.0, total=2000, position=500))
    display(Progress(pages=2, records=1000, rate=250.0, total=2000, position=1000))
    display.end()
    err = capsys.readouterr().err
    assert err == ("\rcity: page 1, 500/2000 records, 250 rec/s, ETA 0:00:06"
                   "\rcity: page 2, 1000/2000 records, 250 rec/s, ETA 0:00:04\n")
