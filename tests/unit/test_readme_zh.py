"""README.zh-CN.md is the whole README in Chinese and stays in step with README.md.

Each English section (``##``/``###`` heading) has its Chinese counterpart in the
same order, tied by the English heading's anchor (``<a id="the-two-commands"></a>``
in the Chinese heading, which also keeps in-page links working), and every
setting key, secret and stack output documented in English is documented in
Chinese too.  A failure names exactly what to add or move.
"""

from __future__ import annotations

import re

from components import settings as stack_settings
from tests.harness import ROOT
from tests.unit.test_settings import _setting_keys

README = ROOT / "README.md"
README_ZH = ROOT / "README.zh-CN.md"
ANCHOR = re.compile(r'<a id="([^"]+)"></a>')


def _outside_code(text: str) -> list[str]:
    lines, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def _anchor(heading: str) -> str:
    """GitHub's anchor for an English heading."""
    return re.sub(r"[^\w\- ]", "", heading.lower().replace("`", "")).replace(" ", "-")


def english_sections() -> list[tuple[str, str]]:
    """(anchor, heading line) of every ## and ### section of README.md, in order."""
    return [(_anchor(line.lstrip("#").strip()), line) for line in _outside_code(README.read_text())
            if re.match(r"^#{2,3} ", line)]


def chinese_sections() -> list[tuple[str, str]]:
    sections = []
    for line in _outside_code(README_ZH.read_text()):
        if re.match(r"^#{2,3} ", line):
            match = ANCHOR.search(line)
            sections.append((match.group(1) if match else "", line))
    return sections


def test_the_chinese_readme_has_every_section_in_the_same_order():
    english, chinese = english_sections(), chinese_sections()
    unanchored = [line for anchor, line in chinese if not anchor]
    assert not unanchored, ("README.zh-CN.md: these headings lack the anchor of their English section "
                            f'(<a id="..."></a>): {unanchored}')
    english_anchors = [anchor for anchor, _ in english]
    chinese_anchors = [anchor for anchor, _ in chinese]
    missing = [line for anchor, line in english if anchor not in chinese_anchors]
    extra = [line for anchor, line in chinese if anchor not in english_anchors]
    assert not missing, ("README.zh-CN.md lacks the Chinese section for each of these README.md headings "
                         f"(translate it, heading with <a id=\"<anchor>\"></a>): {missing}")
    assert not extra, f"README.zh-CN.md has sections README.md no longer has (remove or rename them): {extra}"
    assert chinese_anchors == english_anchors, (
        "README.zh-CN.md has the sections in another order than README.md; expected "
        f"{english_anchors}")
    levels = [(anchor, line.split()[0]) for anchor, line in english]
    assert levels == [(anchor, line.split()[0]) for anchor, line in chinese], "heading levels differ"


def test_every_setting_key_is_documented_in_both():
    keys = sorted(set(_setting_keys(stack_settings.Settings)))
    for path in (README, README_ZH):
        text = path.read_text()
        missing = [k for k in keys if f"`{k}`" not in text and f"`{k}." not in text]
        assert not missing, f"{path.name} does not document these settings (add a row to its settings table): {missing}"


def _first_column(text: str, heading_anchor: str) -> list[str]:
    """The backquoted names in the first column of the first table after a section's heading."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^#{2,3} ", line)
                 and (_anchor(line.lstrip("#").strip()) == heading_anchor or f'id="{heading_anchor}"' in line))
    names = []
    for line in lines[start + 1:]:
        if line.startswith("|"):
            names += re.findall(r"`([A-Za-z][\w.]*)`", line.split("|")[1])
        elif names:
            break
    return names


def test_every_secret_and_stack_output_is_documented_in_both():
    english, chinese = README.read_text(), README_ZH.read_text()
    for section in ("secrets", "stack-outputs"):
        names = _first_column(english, section)
        assert names, f"README.md: no table under {section}"
        rows = [line for line in _section(chinese, section).splitlines() if line.startswith("|")]
        missing = [name for name in names if not any(f"`{name}`" in row.split("|")[1] for row in rows)]
        assert not missing, f"README.zh-CN.md section #{section} lacks table rows for {missing}"


def _section(text: str, anchor: str) -> str:
    """From the heading with ``id="anchor"`` to the next ``##`` heading."""
    rest = text[text.index(f'id="{anchor}"'):]
    following = re.search(r"^## ", rest, re.M)
    return rest[:following.start()] if following else rest


def test_the_readmes_link_to_each_other():
    assert "README.zh-CN.md" in README.read_text().split("\n## ")[0]
    assert "README.md" in README_ZH.read_text().split("\n## ")[0]
