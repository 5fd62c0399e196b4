"""What Jerry's YAML configuration files share: reading them with lines, checking, writing.

The routing, summaries and surveys files (bot/intake/routing_file.py, bot/summaries/file.py,
bot/surveys/file.py) are read as YAML node trees, so that every problem found is reported
with its line and field, all at once rather than only the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NAME_LIMIT = 200  # the database's column sizes
USER_ID_LIMIT = 64
EMAIL_LIMIT = 320

NULL_TAG = "tag:yaml.org,2002:null"
# Jerry's files are a few kilobytes; a larger one is a mistake that would take minutes to check.
MAX_FILE_CHARS = 1_000_000


@dataclass(frozen=True)
class FileProblem:
    line: int  # 1-based; 0 when no line applies (e.g. an email Slack does not know)
    field: str  # e.g. "teams[1].areas[0].keywords"; "" for the file as a whole
    message: str


class ConfigFileError(ValueError):
    """A configuration file has problems; `errors` lists them all, in line order."""

    def __init__(self, errors: list[FileProblem], source: str = "file") -> None:
        self.errors = sorted(errors, key=lambda problem: problem.line)
        self.source = source
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return "\n".join(self._line(problem) for problem in self.errors)

    def _line(self, problem: FileProblem) -> str:
        where = f"{self.source}:{problem.line}" if problem.line else self.source
        if problem.field:
            return f"{where}: {problem.field}: {problem.message}"
        return f"{where}: {problem.message}"


def is_email(value: str) -> bool:
    return EMAIL.match(value) is not None


# --- reading ----------------------------------------------------------------------------------


def compose_yaml(text: str, source: str, error: type[ConfigFileError]) -> Node | None:
    """The file's YAML node tree (None when empty); `error` if it is not valid YAML.

    Nodes, not plain values: they keep the line each value was written on.
    """
    if len(text) > MAX_FILE_CHARS:
        too_large = f"is too large ({len(text):,} characters; at most {MAX_FILE_CHARS:,})"
        raise error([FileProblem(0, "", too_large)], source)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError as exc:  # the parser recurses once per level of nesting
        raise error([FileProblem(0, "", "is nested too deeply to be read")], source) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if "quoted scalar" in (exc.context or "") and exc.context_mark is not None:
            mark = exc.context_mark  # where the quote opens, not where the file ends
        line = mark.line + 1 if mark is not None else 0
        where = f"line {line}, column {mark.column + 1}: " if mark is not None else ""
        problem = f"not valid YAML: {where}{yaml_problem_in_words(exc)}"
        raise error([FileProblem(line, "", problem)], source) from exc
    except yaml.YAMLError as exc:
        raise error([FileProblem(0, "", f"not valid YAML: {exc}")], source) from exc
    # A "\\ud800" escape gives half a character: no database or Slack message can hold it.
    broken = [
        FileProblem(line_of(scalar), "", "has an escape (like \\ud800) that is not a character")
        for scalar in _scalars(node)
        if any(0xD800 <= ord(ch) <= 0xDFFF for ch in scalar.value)
    ]
    if broken:
        raise error(broken, source)
    return node


# PyYAML's most common complaints, in words an admin editing a file understands; the
# patterns match its `problem` text (and `context` where the problem alone is ambiguous).
_YAML_PROBLEMS: tuple[tuple[str, str, str], ...] = (
    (
        "block collection",
        "expected <block end>",
        "a list item or a line is not aligned with the ones above it (indent it like them)",
    ),
    (
        "block mapping",
        "found '<block sequence start>'",
        "a list item is not aligned with the ones above (indent its '-' like theirs)",
    ),
    (
        "block mapping",
        "found '-'",
        "a list item ('- …') stands where a 'key: value' line was expected "
        "(indent it under its key, or add the missing key)",
    ),
    (
        "block mapping",
        "expected <block end>",
        "a line is indented less or more than the other keys of its block",
    ),
    (
        "",
        "mapping values are not allowed here",
        "a colon where none is expected: the line is indented more than the one above, "
        "or a value holds ': ' and needs quotes around it",
    ),
    (
        "",
        "found character '\\t' that cannot start any token",
        "a tab character: indent with spaces only",
    ),
    (
        "",
        "that cannot start any token",
        "a value starts with a character YAML reserves (like @, ` or %): put the value in quotes",
    ),
    (
        "simple key",
        "could not find expected ':'",
        "a line has no colon: write it as 'key: value' (or as a list item '- value')",
    ),
    (
        "quoted scalar",
        "",
        "a quote opens here and is never closed",
    ),
    (
        "flow sequence",
        "",
        "a list in brackets [ ] is not closed, or its items are not separated by commas",
    ),
    (
        "flow mapping",
        "",
        "a mapping in braces { } is not closed, or its entries are not separated by commas",
    ),
    ("", "found undefined alias", "a '*name' refers to an anchor ('&name') defined nowhere above"),
    ("duplicate anchor", "", "the same anchor ('&name') is defined twice"),
)


def yaml_problem_in_words(exc: yaml.MarkedYAMLError) -> str:
    """A plain sentence for PyYAML's complaint; PyYAML's own words when it is not a common one."""
    context, problem = exc.context or "", exc.problem or ""
    for context_part, problem_part, words in _YAML_PROBLEMS:
        if context_part in context and problem_part in problem:
            return words
    return " ".join(part for part in (context, problem) if part) or str(exc)


def _scalars(root: Node | None) -> list[ScalarNode]:
    """Every scalar of the tree, without recursion (nesting depth is the file's choice)."""
    found: list[ScalarNode] = []
    pending = [root] if root is not None else []
    while pending:
        node = pending.pop()
        if isinstance(node, ScalarNode):
            found.append(node)
        elif isinstance(node, SequenceNode):
            pending.extend(node.value)
        elif isinstance(node, MappingNode):
            pending.extend(part for pair in node.value for part in pair)
    return found


def line_of(node: Node) -> int:
    return node.start_mark.line + 1


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == NULL_TAG


def drop_nulls(values: dict[str, Node], optional: tuple[str, ...]) -> None:
    """An optional field set to nothing (`backup:` or `backup: null`) is not given."""
    for key in optional:
        if key in values and is_null(values[key]):
            del values[key]


def _one_of(allowed: tuple[str, ...]) -> str:
    names = [f"`{key}`" for key in allowed]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


class Checker:
    """Checks the generic shapes of a file; each file's checker adds its sections.

    A check that fails records a problem and returns None, so checking goes on and every
    problem is found in one pass.
    """

    def __init__(self) -> None:
        self.problems: list[FileProblem] = []

    def problem(self, node: Node, field: str, message: str) -> None:
        self.problems.append(FileProblem(line_of(node), field, message))

    def mapping(
        self,
        node: Node,
        field: str,
        allowed: tuple[str, ...],
        required: tuple[str, ...] = (),
    ) -> dict[str, Node] | None:
        if not isinstance(node, MappingNode):
            self.problem(node, field or "(top level)", "must be a mapping of `key: value` lines")
            return None
        values: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.problem(key_node, field or "(top level)", "keys must be plain words")
                continue
            key = key_node.value
            path = f"{field}.{key}" if field else key
            if key not in allowed:
                self.problem(key_node, path, f"unknown key; expected {_one_of(allowed)}")
            elif key in values:
                self.problem(
                    key_node, path, f"appears twice (first on line {line_of(values[key])})"
                )
            else:
                values[key] = value_node
        for key in required:
            if key not in values:
                self.problem(node, f"{field}.{key}" if field else key, "is required")
        return values

    def sequence(self, node: Node | None, field: str, what: str) -> list[Node]:
        if node is None or is_null(node):
            return []
        if not isinstance(node, SequenceNode):
            self.problem(node, field, f"must be a list of {what}")
            return []
        return list(node.value)

    def text(self, node: Node | None, field: str, *, limit: int = NAME_LIMIT) -> str | None:
        """A non-empty string (YAML scalars of any type are read as the text written)."""
        if node is None:
            return None
        if not isinstance(node, ScalarNode):
            self.problem(node, field, "must be text, not a list or a mapping")
            return None
        # `name: null` means the word; only an empty value or `~` is nothing.
        value = "" if node.tag == NULL_TAG and node.value in {"", "~"} else node.value.strip()
        if not value:
            self.problem(node, field, "must not be empty")
            return None
        if len(value) > limit:
            self.problem(node, field, f"is too long (at most {limit} characters)")
            return None
        return value

    def unique_name(self, values: dict[str, Node], field: str, seen: dict[str, int]) -> str | None:
        """The entry's `name`, recorded in `seen` (casefolded → line); None if used already."""
        name = self.text(values.get("name"), f"{field}.name")
        if name is None:
            return None
        key = name.casefold()
        if key in seen:
            self.problem(
                values["name"],
                f"{field}.name",
                f"“{name}” is already used (line {seen[key]}); names must be unique",
            )
            return None
        seen[key] = line_of(values["name"])
        return name

    def user(self, node: Node | None, field: str) -> str | None:
        value = self.text(node, field, limit=EMAIL_LIMIT)
        if value is None or node is None:
            return None
        if USER_ID.match(value):
            if len(value) > USER_ID_LIMIT:
                self.problem(node, field, "is too long for a Slack user id")
                return None
            return value
        if is_email(value):
            return value
        self.problem(node, field, "must be a Slack user id (like U012AB3CDE) or an email")
        return None

    def channel(self, node: Node | None, field: str) -> str | None:
        value = self.text(node, field)
        if value is None or node is None:
            return None
        if CHANNEL_ID.match(value):
            if len(value) > USER_ID_LIMIT:
                self.problem(node, field, "is too long for a Slack channel id")
                return None
            return value
        hint = " (the id is at the bottom of the channel's details in Slack)"
        self.problem(
            node,
            field,
            "must be a Slack channel id (like C012AB3CDE), not a channel name" + hint
            if value.startswith("#") or not value[:1].isupper()
            else "must be a Slack channel id (like C012AB3CDE)" + hint,
        )
        return None


# --- writing ----------------------------------------------------------------------------------


class FlowList(list[Any]):
    """A list written on one line: `[a, b]`."""


class FlowMap(dict[str, Any]):
    """A mapping written on one line: `{key: value}`."""


class Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent block lists under their key (`teams:\n  - name: …`), as people write them.
        return super().increase_indent(flow, False)


Dumper.add_representer(
    FlowList,
    lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True),
)
Dumper.add_representer(
    FlowMap,
    lambda dumper, data: dumper.represent_mapping(
        "tag:yaml.org,2002:map", list(data.items()), flow_style=True
    ),
)


def dump_yaml(
    data: dict[str, Any], *, sections: tuple[str, ...] = (), space_entries: bool = False
) -> str:
    """`data` written as people write these files: keys in order, one value a line.

    A blank line goes before each top-level key in `sections`, and with `space_entries`
    between the entries (`  - name: …`) of the top-level list; both read better.
    """
    text = yaml.dump(
        data,
        Dumper=Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=96,
    )
    if sections:
        keys = "|".join(re.escape(key) for key in sections)
        text = re.sub(rf"\n(?=({keys}):)", "\n\n", text)
    if space_entries:
        # Not before the first entry, right under its key.
        first, _, rest = text.partition("\n")
        text = first + "\n" + re.sub(r"\n(?=  - name:)", "\n\n", rest)
    return text
