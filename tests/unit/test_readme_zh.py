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
from tests.support.settings import setting_keys

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
    keys = sorted(set(setting_keys(stack_settings.Settings)))
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


# --- the values, not only the sections: defaults, ranges, examples, outputs, commands -------------------

# Numbers and code in a row: every one the English row holds must be in its twin, whatever the words around them.
_CODE = re.compile(r"`([^`]+)`")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")


def _prose(text: str) -> list[str]:
    """The lines outside code blocks, fences indented under a list item included."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def _tables(section: str) -> list[list[str]]:
    """The rows (header and separator left out) of each table in a section's text, outside code blocks."""
    tables, rows = [], []
    for line in [*_prose(section), ""]:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            tables.append(rows[2:])
            rows = []
    return tables


def _placeholders(text: str) -> str:
    """``<dev's passphrase>`` and ``<随机串>`` alike: what a reader fills in is written in their language."""
    return re.sub(r"<[^<>]*>", "<>", text)


def _values(text: str) -> set[str]:
    """The backticked tokens and the numbers outside them: what must read the same in both languages."""
    text = "\n".join(_prose(text))  # code blocks are compared line by line, and their fences hold backticks
    # inline code may wrap a line; a <placeholder> is translated
    code = {_placeholders(re.sub(r"\s+", " ", token)) for token in _CODE.findall(text)}
    return code | set(_NUMBER.findall(_CODE.sub(" ", text)))


def _sections(text: str) -> dict[str, str]:
    """Each ## / ### section's text by its anchor (English headings by GitHub's anchor, Chinese by their id)."""
    found, anchor, lines, fenced = {}, None, [], False
    for line in [*text.splitlines(), "## end"]:
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and re.match(r"^#{2,3} ", line):
            if anchor is not None:
                found[anchor] = "\n".join(lines)
            match = ANCHOR.search(line)
            anchor, lines = (match.group(1) if match else _anchor(line.lstrip("#").strip())), []
        else:
            lines.append(line)
    return found


def _code_lines(section: str) -> list[str]:
    """The lines of the code blocks of a section, each without its `# comment` (comments are translated)."""
    lines, fenced = [], False
    for line in section.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced:
            code = re.sub(r"(^|\s+)#\s.*$", "", line).strip()
            if code:
                lines.append(_placeholders(code))
    return lines


def _twins():
    english, chinese = _sections(README.read_text()), _sections(README_ZH.read_text())
    return [(anchor, text, chinese.get(anchor, "")) for anchor, text in english.items()]


def _row_key(row: str) -> tuple[str, ...]:
    """What names a row: the code in its first cell (a setting, an output, a file), empty when it has none."""
    return tuple(_CODE.findall(row.split("|")[1]))


def _row_pairs(english: list[str], chinese: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """Each English row with its Chinese twin: by the code of the first cell, else by position."""
    if all(_row_key(row) for row in english):
        by_key = {_row_key(row): row for row in chinese}
        pairs = [(row, by_key[_row_key(row)]) for row in english if _row_key(row) in by_key]
        return pairs, [row.split("|")[1].strip() for row in english if _row_key(row) not in by_key]
    if len(english) != len(chinese):
        return [], [f"a table of {len(english)} rows (README.zh-CN.md's has {len(chinese)})"]
    return list(zip(english, chinese, strict=True)), []


def test_every_table_row_has_a_twin_with_the_same_values():
    drift = []
    for anchor, english, chinese in _twins():
        english_tables, chinese_tables = _tables(english), _tables(chinese)
        if len(english_tables) != len(chinese_tables):
            drift.append(f"#{anchor}: {len(english_tables)} tables in README.md, "
                         f"{len(chinese_tables)} in README.zh-CN.md")
            continue
        for table_en, table_zh in zip(english_tables, chinese_tables, strict=True):
            pairs, unmatched = _row_pairs(table_en, table_zh)
            drift += [f"#{anchor}: README.zh-CN.md has no row for {name}" for name in unmatched]
            for row_en, row_zh in pairs:
                missing = sorted(_values(row_en) - _values(row_zh))
                if missing:
                    drift.append(f"#{anchor} row {row_en.split('|')[1].strip()}: README.zh-CN.md lacks {missing}")
    assert not drift, "README.zh-CN.md is out of step with README.md:\n" + "\n".join(drift)


def test_every_command_and_example_block_reads_the_same():
    drift = []
    for anchor, english, chinese in _twins():
        missing = [line for line in _code_lines(english) if line not in _code_lines(chinese)]
        if missing:
            drift.append(f"#{anchor}: README.zh-CN.md's code blocks lack {missing}")
    assert not drift, "\n".join(drift)


def test_every_value_in_prose_is_in_the_twin_section():
    """Defaults, limits and commands written in a sentence: each backticked token and number of an English
    section (tables and code aside, checked above) appears in its Chinese section."""
    drift = []
    for anchor, english, chinese in _twins():
        prose_en = "\n".join(line for line in _prose(english) if not line.startswith("|"))
        missing = sorted(_values(prose_en) - _values(chinese))
        if missing:
            drift.append(f"#{anchor}: README.zh-CN.md lacks {missing}")
    assert not drift, "README.zh-CN.md is out of step with README.md:\n" + "\n".join(drift)
