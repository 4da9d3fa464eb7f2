"""The zh_Hans catalog is complete, keeps every placeholder, and its committed .mo matches it."""

import gettext
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

LC = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
PO, MO = LC / "django.po", LC / "django.mo"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdfr]|\{\w*\}")


def _unquote(text: str) -> str:
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes[m.group(1)], text.strip()[1:-1])


def parse_po(path: Path) -> list[dict]:
    """Entries as {"flags", "msgctxt", "msgid", "msgid_plural", "msgstr" or "msgstr[n]"}."""
    entries, entry, key = [], None, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry is not None:
                entries.append(entry)
            entry, key = None, None
            continue
        entry = entry if entry is not None else {"flags": set()}
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += _unquote(line)
        else:
            key, _, rest = line.partition(" ")
            entry[key] = _unquote(rest)
    return entries


def translations(entry: dict) -> list[str]:
    return [value for key, value in entry.items() if key.startswith("msgstr")]


@pytest.fixture(scope="module")
def entries() -> list[dict]:
    return parse_po(PO)


def test_the_catalog_has_a_proper_header(entries):
    header = entries[0]
    assert header["msgid"] == "" and "fuzzy" not in header["flags"]
    assert "charset=UTF-8" in header["msgstr"] and "Plural-Forms: nplurals=1; plural=0;" in header["msgstr"]


def test_every_message_is_translated_and_none_is_fuzzy(entries):
    messages = entries[1:]
    assert len(messages) > 200
    assert [e["msgid"] for e in messages if "fuzzy" in e["flags"]] == []
    assert [e["msgid"] for e in messages if not all(t.strip() for t in translations(e))] == []


def test_every_translation_keeps_the_placeholders_of_its_message(entries):
    wrong = [
        (e["msgid"], t)
        for e in entries[1:]
        for t in translations(e)
        if Counter(PLACEHOLDER.findall(e["msgid"])) != Counter(PLACEHOLDER.findall(t))
    ]
    assert wrong == []


def test_msgfmt_finds_no_untranslated_or_fuzzy_entry():
    if shutil.which("msgfmt") is None:
        pytest.skip("gettext's msgfmt is not installed")
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(PO)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "translated messages" in result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr


def test_the_committed_mo_matches_the_po(entries):
    """Recompile with `manage.py compilemessages --ignore=.venv` after editing the .po."""
    with MO.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)._catalog
    expected = {}
    for e in entries[1:]:  # the header differs: msgfmt leaves out POT-Creation-Date
        msgid = e["msgid"] if "msgctxt" not in e else f"{e['msgctxt']}\x04{e['msgid']}"
        if "msgid_plural" in e:
            for key, value in e.items():
                if key.startswith("msgstr["):
                    expected[(msgid, int(key[7:-1]))] = value
        else:
            expected[msgid] = e["msgstr"]
    catalog.pop("")
    assert catalog == expected


def test_the_mo_file_is_not_ignored_by_git():
    if shutil.which("git") is None or not (Path(settings.BASE_DIR) / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run(["git", "check-ignore", "-q", str(MO)], cwd=settings.BASE_DIR)
    assert result.returncode == 1, "locale/**/django.mo must be committed, not ignored"
