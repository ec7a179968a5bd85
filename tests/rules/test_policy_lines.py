"""The line-based policy reader must build exactly libyaml's located tree, or step aside."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.rules_corpus import policy_pack
from rules.policy import default_policy_text, load_policy
from rules.policy_lines import parse_lines
from rules.policy_yaml import Located, LocatedList, PolicyError, parse_document, type_plain


def same_tree(fast: Any, slow: Any) -> bool:
    """Equal values, equal types and equal line numbers all the way down."""
    if type(fast) is not type(slow):
        return False
    if isinstance(fast, Located):
        return (fast.keys() == slow.keys() and fast.line == slow.line and fast.key_lines == slow.key_lines
                and all(same_tree(fast[k], slow[k]) for k in fast))
    if isinstance(fast, LocatedList):
        return (len(fast) == len(slow) and fast.line == slow.line and fast.item_lines == slow.item_lines
                and all(same_tree(a, b) for a, b in zip(fast, slow, strict=True)))
    return bool(fast == slow)


def check(text: str) -> Located | None:
    """Run both readers; the fast one may decline, but never disagree or accept what libyaml rejects."""
    fast = parse_lines(text, type_plain)
    try:
        slow = parse_document(text, "t.yaml")
    except PolicyError:
        assert fast is None, text
        return None
    assert fast is None or same_tree(fast, slow), text
    return fast


@pytest.mark.parametrize("zone", ["low", "medium", "high"])
def test_default_packs_take_the_fast_path(zone: str) -> None:
    assert check(default_policy_text(zone)) is not None
    assert load_policy(default_policy_text(zone)).zone == zone


def test_large_generated_pack_takes_the_fast_path() -> None:
    assert check(policy_pack(50)) is not None


@pytest.mark.parametrize("text", [
    "a: 1\nb: [x, y]\nc:\n  - id: r\n    n: 2\n  - plain words here\n",
    "rules:\n- id: a\n  when: {x: 1}\n",                       # flow mapping: libyaml's job
    "a: |\n  block\n",                                        # block scalar
    "a: &anchor 1\nb: *anchor\n",                             # anchors and aliases
    "a: !!str 1\n",                                           # tags
    "a: b\n  continued\n",                                    # multi-line plain scalar
    "a: 'it''s'\nb: \"q # not a comment\"\nc: C# # comment\n",
    "a: \"tab\\tescape\"\n",
    "a: [x,\n   y, z]\nb: 1\n",                               # flow list over lines
    "a: [x,\ny]\n",                                           # continuation not indented
    "a: [x, y,]\n", "a: []\n", "a: [ ]\n", "a: [x: 1]\n",
    "a: [x, \"1password\", 'q', '']\n", "a: [\"a, b\"]\n", "a: ['it''s']\n", "a: [\"e\\tx\"]\n", "a: [it's]\n",
    "a: [\"a]\"]\n", "a: [x,\n    'y', \"z\"]\n", "a: [\"x\" y]\n",
    "a: 1\na: 2\n",                                           # duplicate key
    "yes: 1\n", "on: x\n", "1: x\n",                          # keys that are not strings
    "a:\n- x\n- y\nb: 2\n",                                   # indentless sequence
    "a:\n  - - x\n",                                          # nested sequence
    "a: b: c\n", "a: b:\n", "a:b\n", "a: http://x/y?q=1\n", "a: -1\nb: +2\nc: .5\nd: 0x1F\ne: 017\nf: 1_000\n",
    "a: ~\nb: null\nc:\nd: True\ne: NO\nf: off\n",
    "\tb: 1\n", "a: 1\r\nb: 2\r\n", "\ufeffa: 1\n", "---\na: 1\n", "a: 1\n...\n", "%YAML 1.1\n---\na: 1\n",
    "a: 1\n  b: 2\n", "  a: 1\n  b: 2\n", "  a: 1\nb: 2\n", "- a\n- b\n", "just text\n", "", "# only a comment\n",
    "a:\n  b:\n    c: [1, 2]\n  d: x\ne: y\n", "a: x  \n", "a:   spaced   value   # c\n",
    "a: 'unterminated\n", "a: [unterminated\n", "a: '\u00e9t\u00e9'\nb: \u673a\u5bc6\n", "a: \x85\n", "a: \u2028\n",
    "a:\n-\n  b: 1\n", "a:\n  - # c\n    b: 1\n", "a:\n  -   b: 1\n      c: 2\n",
])
def test_fast_reader_agrees_with_libyaml(text: str) -> None:
    check(text)


_KEYS = ["id", "a", "b", "when", "on", "yes", "x.y", "k-1"]
_VALUES = ["v", "1", "-1", "0x1f", "1.5", "yes", "~", "", "'q'", "'it''s'", '"d"', '"e\\t"', "[a, b]", "[]", "[a,",
           "b]", "[x: 1]", "{a: 1}", "&a v", "*a", "!t v", "|", "a: b", "c#", "a #c", "# c", "http://h/p", "- v",
           "\u673a\u5bc6", "a b  c", "[a, b,]", "'x", "@x", "`x", "%x", "? x", "[a, 'b', \"c\"]", "['a, b']",
           "[\"\"]", "[it's]", "['x' y]"]


@st.composite
def documents(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 12))):
        indent = " " * draw(st.sampled_from([0, 0, 0, 1, 2, 2, 4, 4, 6]))
        key, value = draw(st.sampled_from(_KEYS)), draw(st.sampled_from(_VALUES))
        shape = draw(st.sampled_from(["{k}: {v}", "{k}:", "- {v}", "- {k}: {v}", "{v}", "-", "# {v}", ""]))
        lines.append(indent + shape.format(k=key, v=value))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))


@st.composite
def nested_documents(draw: st.DrawFn) -> str:
    """Mostly valid block YAML: mappings and sequences nested by 1, 2 or 4 spaces, odd values inside."""
    lines: list[str] = []

    def block(indent: int, depth: int, sequence: bool) -> None:
        pad = " " * indent
        for _ in range(draw(st.integers(1, 3))):
            key, value = draw(st.sampled_from(_KEYS)), draw(st.sampled_from(_VALUES))
            nest = depth < 3 and draw(st.booleans())
            if sequence:
                lines.append(f"{pad}- {key}: {value}" if draw(st.booleans()) else f"{pad}- {value}")
            elif nest:
                lines.append(f"{pad}{key}:")
                inner = draw(st.sampled_from([0, 1, 2, 4])) if depth else draw(st.sampled_from([1, 2, 4]))
                block(indent + inner, depth + 1, draw(st.booleans()))
            else:
                lines.append(f"{pad}{key}: {value}")

    block(0, 0, False)
    return "\n".join(lines) + "\n"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(documents(), nested_documents()))
def test_fast_reader_never_disagrees_with_libyaml(text: str) -> None:
    check(text)


def test_errors_keep_file_line_and_field_on_the_fast_path() -> None:
    text = "version: 1\nzone: low\nrules:\n  - id: r\n    action: explode\n"
    assert parse_lines(text, type_plain) is not None
    with pytest.raises(PolicyError) as error:
        load_policy(text, source="p.yaml")
    assert str(error.value).startswith("p.yaml:5: rules[0].action: 'explode' is not one of")
