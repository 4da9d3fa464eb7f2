"""Pages speak Simplified Chinese by default and English when the visitor chose it."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.html import escapejs

PAGES = {
    # path: (a Chinese text, its English original)
    "/": ("预约专属时段", "Book a private time"),
    "/book/": ("可预约时间", "Free times"),
    "/d/lobby": ("欢迎", "Welcome"),
    "/login/": ("还没有账号？", "No account yet?"),
    "/register/": ("创建账号", "Create my account"),
}


@pytest.mark.parametrize("path", PAGES)
def test_a_page_is_chinese_by_default(db, client, path):
    chinese, english = PAGES[path]
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert chinese in html
    assert english not in html


@pytest.mark.parametrize("path", PAGES)
def test_a_page_is_english_with_the_language_cookie(db, client, path):
    chinese, english = PAGES[path]
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(path).content.decode()
    assert '<html lang="en">' in html
    assert english in html
    assert chinese not in html


@pytest.mark.parametrize("path", PAGES)
def test_a_page_is_english_for_an_english_browser(db, client, path):
    chinese, english = PAGES[path]
    html = client.get(path, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert english in html
    assert chinese not in html


def test_the_language_switch_in_the_header_sticks(db, client):
    assert "登录" in client.get("/login/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302
    html = client.get("/login/").content.decode()
    assert "No account yet?" in html and "还没有账号？" not in html
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})
    assert "还没有账号？" in client.get("/login/").content.decode()


def test_form_labels_and_choices_are_translated(db, client):
    html = client.get("/register/").content.decode()
    assert "手机号码" in html and "捐献者" in html
    html = client.get("/register/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Mobile phone" in html and "a donor" in html


def test_script_strings_are_translated_and_escaped_for_javascript(db, client):
    html = client.get("/book/").content.decode()
    with translation.override("zh-hans"):
        booked = translation.gettext("Booked: {when}, room {room}.")
    assert booked != "Booked: {when}, room {room}."
    assert f'"{escapejs(booked)}"' in html
    assert f'"{escapejs("间空闲")}"' in html  # "rooms free" after a count


def test_staff_console_names_statuses_in_chinese(people, client):
    client.force_login(people.sam)
    html = client.get("/staff/").content.decode()
    assert '"pending": "待审核"' in html
    assert "工作人员控制台" in html


TEMPLATE_DIRS = [Path(settings.BASE_DIR) / "api" / "templates", Path(settings.BASE_DIR) / "workflows" / "templates"]


def test_no_template_string_has_a_percent_placeholder():
    """{{ _("… %(name)s …") }} is looked up as "… %%(name)s …" (the template engine doubles each %)
    and never finds its translation: placeholders in template strings are written {name}."""
    offenders = []
    for directory in TEMPLATE_DIRS:
        for path in directory.rglob("*.html"):
            text = path.read_text(encoding="utf-8")
            pattern = r"""_\((?:'[^']*%\(\w+\)[sd][^']*'|"[^"]*%\(\w+\)[sd][^"]*")\)"""
            offenders += [f"{path.name}: {found}" for found in re.findall(pattern, text)]
    assert not offenders, offenders


def test_no_template_puts_a_raw_trans_tag_in_javascript():
    """Inside <script>, a translation must go through |escapejs ({{ _("…")|escapejs }}): a
    translated quote or backslash must not be able to end the JavaScript string."""
    offenders = []
    for directory in TEMPLATE_DIRS:
        for path in directory.rglob("*.html"):
            for script in re.findall(r"<script\b.*?</script>", path.read_text(encoding="utf-8"), flags=re.S):
                offenders += [
                    f"{path.name}: {tag}"
                    for tag in re.findall(r"\{%\s*(?:trans|translate|blocktrans)\b[^%]*%\}", script)
                ]
                offenders += [f"{path.name}: {var}" for var in re.findall(r"\{\{\s*_\([^)]*\)\s*\}\}", script)]
    assert not offenders
