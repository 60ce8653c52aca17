"""Teacher pages through the Flask test client: status, content, escaping, friendly errors."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

from flask.testing import FlaskClient

from tests.site.conftest import CHAPTER, DELETED, MERGED, Site, assert_no_raw_markup, page


def _facet_counts(client: FlaskClient, facet: str, query: str = "") -> dict[str, int]:
    data = client.get(f"/api/search?page_size=1{query}").get_json()
    return {str(v["value"]): v["count"] for v in data["facets"][facet]}


def test_home_tree_comes_from_the_index(client_all: FlaskClient) -> None:
    html = page(client_all, "/")
    assert 'role="search"' in html and 'name="q"' in html
    stages = _facet_counts(client_all, "stage")
    assert stages["junior"] > stages["senior"] > 0
    # every stage the index holds, labelled from the vocabulary, with its count, in teaching order
    assert re.search(rf'小学</span> <span class="count">{stages["primary"]} 个', html)
    assert re.search(rf'初中</span> <span class="count">{stages["junior"]} 个', html)
    assert html.index("小学") < html.index("初中") < html.index("高中")
    assert "junior" not in html.split("<main", 1)[1].split("</main>")[0].replace("stage=junior", "")


def test_browse_down_to_a_chapter(client_all: FlaskClient) -> None:
    html = page(client_all, "/browse?stage=junior")
    assert "选择年级" in html and "七年级" in html and "八年级" in html and "九年级" in html
    html = page(client_all, "/browse?stage=junior&grade=8&subject=math")
    assert "选择教材版本" in html and "人教版" in html
    html = page(client_all, "/browse?stage=junior&grade=8&subject=math&edition=pep")
    assert "选择册次" in html and "下册" in html
    html = page(client_all, "/browse?stage=junior&grade=8&subject=math&edition=pep&volume=vol2")
    assert "选择章节" in html and "第十七章 勾股定理" in html
    html = page(client_all, "/browse?" + "stage=junior&grade=8&subject=math&edition=pep&volume=vol2&chapter="
                + quote("第十七章 勾股定理"))
    # lessons of the chapter, each with its resource types linking to works
    assert "勾股定理的逆定理" in html and "第2课时" in html
    for kind in ("课件", "教学设计", "微课视频"):
        assert kind in html
    assert html.count('href="/works/w') >= 10
    # a variant edition takes its label from the documents, not the bare code
    html = page(client_all, "/browse?stage=senior&grade=10&subject=math")
    assert "人教A版" in html


def test_browse_bad_value_is_a_friendly_400(client_all: FlaskClient) -> None:
    html = page(client_all, "/browse?stage=junior&grade=eight", 400)
    assert "年级" in html and 'role="alert"' in html


def test_search_results(client_all: FlaskClient) -> None:
    html = page(client_all, "/search?q=勾股定理")
    assert "<mark>勾股定理</mark>" in html
    for text in ("八年级", "人教版", "课件", "国家级", "国家中小学智慧教育平台", "北京市基础教育资源平台", "市优"):
        assert text in html, text  # facet labels in Chinese, not codes
    assert "另见于 1 个平台" in html and "信息完整度" in html and "第十七章 勾股定理" in html
    assert re.search(r"时长 \d+分\d+秒", html)
    assert 'class="chosen"' not in html
    filtered = page(client_all, "/search?q=勾股定理&grade=8")
    assert 'class="chosen" aria-current="true"' in filtered and "去掉条件：八年级" in filtered


def test_sort_and_pagination(client_all: FlaskClient) -> None:
    first = page(client_all, "/search")
    assert 'aria-current="page"' in first and 'rel="next"' in first and "/search?page=2" in first
    second = page(client_all, "/search?page=2")
    assert 'rel="prev"' in second and '<ol class="hits" start="21">' in second
    for sort in ("newest", "quality"):
        html = page(client_all, f"/search?q=圆&sort={sort}")
        assert f'<option value="{sort}" selected>' in html
        assert f'sort={sort}&amp;page=2' in html or "rel=\"next\"" not in html


def test_empty_result_suggests_what_to_drop(client_all: FlaskClient) -> None:
    html = page(client_all, "/search?q=勾股定理&stage=primary&resource_type=courseware")
    assert "没有找到" in html
    assert "去掉“学段：小学”" in html  # dropping the stage finds the lesson
    assert "stage=primary" not in html.split("去掉“学段：小学”")[0].rsplit("href=", 1)[1]
    nothing = page(client_all, "/search?q=量子色动力学")
    assert "拼音" in nothing  # no filter to drop: general tips


def test_query_syntax_error_is_shown_not_a_500(client_all: FlaskClient) -> None:
    html = page(client_all, '/search?q="勾股', 400)
    assert "引号没有配对" in html and 'role="alert"' in html and "&#34;勾股" in html
    for bad in ("grade=x", "sort=best", "page=0", "page=999", "page_size=500"):
        html = page(client_all, f"/search?{bad}", 400)
        assert 'role="alert"' in html


def test_work_page(client_all: FlaskClient, site: Site) -> None:
    work_id = client_all.get("/api/search?q=勾股定理&sources=city&resource_type=courseware").get_json()["hits"][0]["id"]
    html = page(client_all, f"/works/{work_id}")
    assert "收录平台（2 个）" in html and "国家中小学智慧教育平台" in html and "北京市基础教育资源平台" in html
    assert "在国家中小学智慧教育平台打开" in html and 'href="https://national.example.edu.cn/' in html
    # provenance: each merged field names its platform, linking to the member
    rows = re.findall(r'<th scope="row">([^<]+)</th>.*?<td class="from">(.*?)</td>', html, re.S)
    by_field = {name: cell for name, cell in rows}
    assert "国家中小学智慧教育平台" in by_field["标题"] and "北京市基础教育资源平台" in by_field["优课荣誉"]
    assert re.search(r'href="#member-r[0-9a-f]+"', by_field["学科"])
    # why grouped, related works of the same lesson, JSON-LD
    assert "为什么这些记录是同一资源" in html and "资源编号相同" in html
    assert "本课的其他资源" in html and "同一章节的其他课" in html
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))
    assert "LearningResource" in ld["@type"] and ld["@id"].endswith(f"/works/{work_id}")
    assert any(u.startswith("https://city.example") or "example" in u for u in ld["sameAs"])


def test_related_other_editions(client_all: FlaskClient) -> None:
    hit = client_all.get("/api/search?q=圆的面积&edition=bnu&grade=6").get_json()["hits"][0]
    html = page(client_all, f"/works/{hit['id']}")
    assert "其他教材版本的同一课" in html and "人教版" in html.split("其他教材版本的同一课")[1]


def test_record_page_links_to_its_work(client_all: FlaskClient, site: Site) -> None:
    data = client_all.get("/api/search?q=勾股定理&sources=city").get_json()
    work = client_all.get(f"/api/works/{data['hits'][0]['id']}").get_json()
    member = next(m for m in work["members"] if m["source"] == "city")
    html = page(client_all, f"/records/{member['id']}")
    assert f'href="/works/{work["id"]}"' in html and "北京市基础教育资源平台 收录的原始信息" in html
    page(client_all, "/records/rnope", 404)
    page(client_all, "/works/wnope", 404)


def test_hostile_text_is_escaped_everywhere(client_all: FlaskClient, site: Site) -> None:
    pages = [
        "/", "/search?q=勾股定理", "/search?q=恶意标题", f"/search?edition=evil-ed&q={quote('恶意')}",
        f"/works/{site.evil_work}", *(f"/records/{r}" for r in site.evil_records),
        "/browse?stage=junior&grade=8&subject=math", "/browse?stage=junior&grade=8&subject=math&edition=evil-ed",
        "/browse?stage=junior&grade=8&subject=math&edition=evil-ed&volume=vol2",
        "/browse?stage=junior&grade=8&subject=math&edition=evil-ed&volume=vol2&chapter=" + quote(CHAPTER),
        f"/search?q={quote(chr(34) + '<script>')}",
    ]
    for url in pages:
        response = client_all.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code in (200, 400), url
        assert_no_raw_markup(html)
    work = page(client_all, f"/works/{site.evil_work}")
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;勾股定理" in work  # shown as text
    assert "&lt;b&gt;恶意平台&lt;/b&gt;" in work  # the source's label too
    ld = re.search(r'<script type="application/ld\+json">(.*?)</script>', work, re.S).group(1)
    assert "<" not in ld and "\\u003c/script\\u003e" in ld  # "</" cannot close the data block
    data = json.loads(ld)
    assert data["name"].startswith('<script>alert("x")') and "javascript:" not in json.dumps(data)
    results = page(client_all, "/search?q=恶意标题")
    assert "&lt;script&gt;" in results and "<mark>" in results  # highlighting survives, markup does not


def test_approved_only_by_default(client: FlaskClient, client_all: FlaskClient, site: Site) -> None:
    shown = client.get("/api/search?page_size=1").get_json()["total"]
    assert shown == len(site.published) < client_all.get("/api/search?page_size=1").get_json()["total"]
    hidden = sorted(site.unpublished)[0]
    page(client, f"/works/{hidden}", 404)
    assert client.get(f"/api/works/{hidden}").status_code == 404
    assert "待审核" in page(client_all, f"/works/{hidden}")
    assert "待审核" not in page(client, "/search?q=勾股定理").split("<main", 1)[1]
    # the filter cannot be lifted from the query string
    assert client.get("/api/search?review_status=pending").status_code == 400
    assert "审核状态" not in page(client, "/search?review_status=pending")
    home = page(client, "/")
    assert f"经审核的 {shown} 个教学资源" in home


def test_language_switch(client_all: FlaskClient) -> None:
    response = client_all.get("/search?q=勾股定理&lang=en")
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html and "Grade 8" in html and "Courseware (slides)" in html
    assert "lang=en" in response.headers.get("Set-Cookie", "")
    assert '<html lang="en">' in page(client_all, "/")  # remembered
    assert '<html lang="zh-CN">' in page(client_all, "/?lang=zh")


def test_security_headers_and_errors(client_all: FlaskClient) -> None:
    response = client_all.get("/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<script>" not in response.get_data(as_text=True).replace('<script src="/static/huiju.js" defer>', "")
    assert "没有找到这个页面" in page(client_all, "/no/such/page", 404)
    assert client_all.get("/?q=勾股定理").headers["Location"].startswith("/search?q=")


def test_retired_works_redirect_or_are_gone(client: FlaskClient, site: Site) -> None:
    response = client.get(f"/works/{MERGED}")
    assert response.status_code == 301 and response.headers["Location"] == f"/works/{min(site.published)}"
    html = page(client, f"/works/{DELETED}", 410)
    assert "这个资源已经下线" in html and "各平台都已撤下" in html
    response = client.get(f"/api/works/{MERGED}")
    assert response.status_code == 301 and response.headers["Location"].endswith(f"/api/works/{min(site.published)}")
    assert client.get(f"/api/works/{DELETED}").get_json()["error"]["type"] == "gone"
