"""Kubernetes semantics for the CEL rules of a CRD (``x-kubernetes-validations``), on top of cel-python.

cel-python evaluates CEL; the API server adds rules of its own, and a rule that cel-python
accepts may still make the API server refuse the whole CRD. This module brings the offline
validator to the API server's terms:

- **Property-name escaping** (:func:`escape`, :func:`cel_value`). Kubernetes exposes an object
  property to CEL under an escaped name: a CEL reserved word ``w`` as ``__w__`` (``namespace``
  is ``self.spec.__namespace__``), ``__`` as ``__underscores__``, ``.`` as ``__dot__``, ``-``
  as ``__dash__``, ``/`` as ``__slash__``; a name starting with a digit or holding any other
  character is not accessible at all. Map keys (``additionalProperties``) are never escaped.
- **Field checking** (:func:`rule_problems`). The API server type-checks every rule against the
  schema, so ``self.spec.namespace`` (unescaped) or a misspelt field is "undefined field" and the
  CRD is refused; cel-python would only fail, or quietly see a missing key, at evaluation.
- **Cost limits** (:func:`estimated_cost`). The API server estimates the worst-case cost of every
  rule from the schema's ``maxLength`` / ``maxItems`` / ``maxProperties`` bounds (cel-go's
  estimator: strings are traversed at 0.1 per byte, a regex costs 0.25 per character of its
  pattern, an unbounded string is as long as a 3 MiB request) times how often the rule's node can
  occur, and refuses a CRD with a rule above 10 000 000 or rules summing above 100 000 000.
  The estimator here follows cel-go's for the standard library and macros; functions of the
  Kubernetes CEL library (``quantity()``, ``url()``, ``isSorted()``...) are costed as O(1), which
  underestimates them (the shipped CRDs use none).
- **The rest of the API server's CRD checks on rules** (:func:`crd_problems`): every ``fieldPath``
  names a declared field, and every ``default`` satisfies the schema and rules of its node *as
  written* (the API server checks a default before nested defaults apply to it).

Not modelled: the runtime cost limits (1 000 000 per rule evaluation, 10 000 000 per request);
the shipped rules read only bounded strings, so they stay far below them.
"""

import functools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import celpy
import lark
from celpy.celparser import CELParseError

from greenshift.validation.problem import Problem

Schema = dict[str, Any]

RESERVED_WORDS = frozenset(
    {
        *("true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function"),
        *("if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"),
    }
)
_ESCAPES = {"__": "__underscores__", ".": "__dot__", "-": "__dash__", "/": "__slash__"}
_ESCAPABLE = re.compile(r"^[a-zA-Z_.\-/][a-zA-Z0-9_.\-/]*$")

PER_RULE_COST_LIMIT = 10_000_000
"""apiextensions' StaticEstimatedCostLimit: the largest estimated cost of one rule (times its cardinality)."""
PER_CRD_COST_LIMIT = 100_000_000
"""apiextensions' StaticEstimatedCRDCostLimit: the largest sum of the estimated costs of a CRD's rules."""
MAX_REQUEST_BYTES = 3 * 1024 * 1024
_UNBOUNDED = 2**64 - 1
_STRING_FACTOR = 0.1
_REGEX_FACTOR = 0.25
_FORMAT_SIZES = {"date-time": 32, "duration": 32, "date": 12}
"""Largest JSON size of a string of these formats, quotes included (apiserver/pkg/cel's constants)."""


def escape(name: str) -> str | None:
    """The name under which Kubernetes CEL exposes the object property ``name``; None when it cannot."""
    if not name or name[0].isdigit():
        return None
    if name in RESERVED_WORDS:
        return f"__{name}__"
    if not _ESCAPABLE.match(name):
        return None
    return re.sub(r"__|[.\-/]", lambda match: _ESCAPES[match.group(0)], name)


def root_schema(schema: Schema) -> Schema:
    """The schema a root rule sees: apiVersion, kind, ``metadata`` with only name and generateName."""
    properties = dict(schema.get("properties", {}))
    properties["apiVersion"] = {"type": "string"}
    properties["kind"] = {"type": "string"}
    properties["metadata"] = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "generateName": {"type": "string"}},
    }
    return {**schema, "properties": properties}


def cel_value(schema: Schema, value: Any) -> Any:
    """``value`` (parsed JSON) as Kubernetes binds it to ``self``: property names escaped, the
    properties that cannot be escaped left out; map keys and unknown preserved fields as they are."""
    if isinstance(value, dict):
        properties: dict[str, Schema] = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        result: dict[str, Any] = {}
        for key, item in value.items():
            if key in properties:
                escaped = escape(str(key))
                if escaped is not None:
                    result[escaped] = cel_value(properties[key], item)
            elif isinstance(extra, dict):
                result[key] = cel_value(extra, item)
            else:
                result[key] = item
        return result
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [cel_value(schema["items"], item) for item in value]
    return value


# --- A small expression tree, converted from cel-python's parse tree ------------------------------


@dataclass(frozen=True)
class Expr:
    """One node; ``op`` is lit, ident, select, has, call, list, map or macro."""

    op: str
    name: str = ""
    args: tuple["Expr", ...] = ()
    target: "Expr | None" = None
    size: int | None = None
    kind: str = ""


class CelSyntaxError(ValueError):
    """A rule that does not parse."""


_MACROS = {"all", "exists", "exists_one", "map", "filter"}
_BINARY = {
    "conditionalor": "_||_",
    "conditionaland": "_&&_",
    "relation_lt": "_<_",
    "relation_le": "_<=_",
    "relation_gt": "_>_",
    "relation_ge": "_>=_",
    "relation_eq": "_==_",
    "relation_ne": "_!=_",
    "relation_in": "@in",
    "addition_add": "_+_",
    "addition_sub": "_-_",
    "multiplication_mul": "_*_",
    "multiplication_div": "_/_",
    "multiplication_mod": "_%_",
}


@functools.cache
def parse(rule: str) -> Expr:
    """The rule as an :class:`Expr`; raises :class:`CelSyntaxError`."""
    try:
        tree = celpy.Environment().compile(rule)
    except CELParseError as exc:
        raise CelSyntaxError(str(exc.args[0] if exc.args else exc)) from None
    return _convert(tree)


def _children(tree: "lark.Tree[Any]") -> list[Any]:
    return list(tree.children)


def _convert(node: Any) -> Expr:
    if not isinstance(node, lark.Tree):
        raise CelSyntaxError(f"unexpected token {node!r}")
    rule, children = node.data, _children(node)
    if rule == "expr":
        if len(children) == 1 or children[1] is None:
            return _convert(children[0])
        return Expr("call", "_?_:_", tuple(_convert(c) for c in children))
    if rule in ("conditionalor", "conditionaland"):
        if len(children) == 1 or children[0] is None:
            return _convert(children[-1])
        return Expr("call", _BINARY[rule], (_convert(children[0]), _convert(children[1])))
    if rule in ("relation", "addition", "multiplication"):
        if len(children) == 1 or children[0] is None:
            return _convert(children[-1])
        operator = children[0]
        left = _convert(_children(operator)[0])
        return Expr("call", _BINARY[operator.data], (left, _convert(children[1])))
    if rule == "unary":
        if len(children) == 1:
            return _convert(children[0])
        function = "!_" if children[0].data == "unary_not" else "-_"
        return Expr("call", function, (_convert(children[1]),))
    if rule in ("member", "primary", "paren_expr"):
        return _convert(children[0])
    if rule == "member_dot":
        return Expr("select", str(children[1]), (_convert(children[0]),))
    if rule == "member_dot_arg":
        target, name = _convert(children[0]), str(children[1])
        args = _exprlist(children[2] if len(children) > 2 else None)
        if name in _MACROS and len(args) == 2 and args[0].op == "ident":
            return Expr("macro", name, args, target=target)
        return Expr("call", name, args, target=target)
    if rule == "member_index":
        return Expr("call", "_[_]", (_convert(children[0]), _convert(children[1])))
    if rule == "ident_arg":
        name = str(children[0])
        args = _exprlist(children[1] if len(children) > 1 else None)
        if name == "has" and len(args) == 1 and args[0].op == "select":
            return Expr("has", args[0].name, args[0].args)
        return Expr("call", name, args)
    if rule in ("ident", "dot_ident"):
        return Expr("ident", str(children[0]))
    if rule == "dot_ident_arg":
        return Expr("call", str(children[0]), _exprlist(children[1] if len(children) > 1 else None))
    if rule == "list_lit":
        items = _exprlist(children[0] if children else None)
        return Expr("list", args=items, size=len(items))
    if rule == "map_lit":
        entries = tuple(_convert(c) for c in _children(children[0])) if children and children[0] else ()
        return Expr("map", args=entries, size=len(entries) // 2)
    if rule == "member_object":
        return Expr("call", "@object", ())
    if rule == "literal":
        return _literal(children[0])
    raise CelSyntaxError(f"unsupported construct {rule}")


def _exprlist(node: Any) -> tuple[Expr, ...]:
    if node is None:
        return ()
    return tuple(_convert(c) for c in _children(node))


def _literal(token: lark.Token) -> Expr:
    kind = token.type
    if kind in ("STRING_LIT", "MLSTRING_LIT", "BYTES_LIT"):
        return Expr("lit", kind=kind, size=_literal_length(str(token)))
    return Expr("lit", kind=kind, size=1)


def _literal_length(text: str) -> int:
    """Characters of a string literal's value (an escape sequence is one character)."""
    raw = text[0] in "rR" or (text[0] in "bB" and text[1:2] in ("r", "R"))
    body = text.lstrip("bBrR")
    quote = 3 if body[:3] in ('"""', "'''") else 1
    body = body[quote:-quote]
    if raw:
        return len(body)
    return len(re.sub(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)", "_", body))


# --- Types and sizes from the schema --------------------------------------------------------------


@dataclass(frozen=True)
class _Type:
    """What the checker knows of a value: a schema node, or a plain CEL type name."""

    name: str  # object, map, list, string, int, uint, double, bool, bytes, null, dyn
    schema: Schema | None = None
    size: int | None = None  # max size (characters, items, entries) when known


_DYN = _Type("dyn")


def _schema_type(schema: Schema) -> _Type:
    if schema.get("x-kubernetes-int-or-string"):
        return _Type("dyn", schema, MAX_REQUEST_BYTES - 2)
    kind = schema.get("type")
    if kind == "object":
        if "properties" in schema:
            return _Type("object", schema)
        if isinstance(schema.get("additionalProperties"), dict):
            bound = schema.get("maxProperties")
            minimum = _min_json_size(schema["additionalProperties"]) + 6
            size = bound if bound is not None else (MAX_REQUEST_BYTES - 2) // minimum
            return _Type("map", schema, size)
        return _Type("dyn", schema)
    if kind == "array":
        bound = schema.get("maxItems")
        items: Schema = schema["items"] if isinstance(schema.get("items"), dict) else {}
        size = bound if bound is not None else (MAX_REQUEST_BYTES - 2) // (_min_json_size(items) + 1)
        return _Type("list", schema, size)
    if kind == "string":
        return _Type("string", schema, _string_size(schema))
    if kind == "integer":
        return _Type("int", schema, 1)
    if kind == "number":
        return _Type("double", schema, 1)
    if kind == "boolean":
        return _Type("bool", schema, 1)
    return _DYN


def _string_size(schema: Schema) -> int:
    if "maxLength" in schema:
        # maxLength counts characters; a character is up to 4 bytes, and the estimator counts bytes.
        return max(int(schema["maxLength"]), 0) * 4
    if schema.get("enum"):
        return max(len(str(option)) for option in schema["enum"])
    return _FORMAT_SIZES.get(str(schema.get("format")), MAX_REQUEST_BYTES - 2)


def _min_json_size(schema: Schema) -> int:
    """The smallest JSON a value of ``schema`` serialises to (``""``, ``0``, ``true``, ``{}``, ``[]``)."""
    kind = schema.get("type")
    if kind == "string":
        return 2
    if kind == "boolean":
        return 4
    if kind in ("object", "array"):
        return 2
    return 1


def _nodes(schema: Schema, where: str, times: int = 1) -> Iterator[tuple[str, Schema, int]]:
    """Every schema node, named as the API server names it in a CRD, with how many times it can occur
    in one object (a list's items or a map's values occur as often as the list or map can hold)."""
    yield where, schema, times
    for key, sub in schema.get("properties", {}).items():
        yield from _nodes(sub, f"{where}.properties[{key}]", times)
    for keyword in ("items", "additionalProperties"):
        sub = schema.get(keyword)
        if isinstance(sub, dict):
            count = _schema_type(schema).size or 1
            yield from _nodes(sub, f"{where}.{keyword}", _times(times, count))


def _times(a: int, b: int) -> int:
    return min(a * b, _UNBOUNDED)


# --- Checking and costing one rule ----------------------------------------------------------------


@dataclass
class _Cost:
    low: int = 0
    high: int = 0

    def __add__(self, other: "_Cost") -> "_Cost":
        return _Cost(min(self.low + other.low, _UNBOUNDED), min(self.high + other.high, _UNBOUNDED))


def _factor(size: int, factor: float) -> int:
    return min(math.ceil(size * factor), _UNBOUNDED)


@dataclass
class _Checker:
    """Walks one rule: the type and size of each sub-expression, undefined fields, the cost."""

    variables: dict[str, _Type]
    errors: list[str] = field(default_factory=list)

    def visit(self, expr: Expr) -> tuple[_Type, _Cost]:
        if expr.op == "lit":
            names = {"STRING_LIT": "string", "MLSTRING_LIT": "string", "BYTES_LIT": "bytes"}
            return _Type(names.get(expr.kind, "scalar"), size=expr.size), _Cost()
        if expr.op == "ident":
            return self.variables.get(expr.name, _DYN), _Cost(1, 1)
        if expr.op in ("select", "has"):
            operand, cost = self.visit(expr.args[0])
            selected = self._select(operand, expr.name)
            if expr.op == "has":
                return _Type("bool", size=1), cost + _Cost(1, 1)
            extra = _Cost(1, 1) if operand.name in ("object", "map") else _Cost()
            return selected, cost + extra
        if expr.op == "list":
            cost = _Cost(10, 10)
            for item in expr.args:
                cost = cost + self.visit(item)[1]
            return _Type("list", size=expr.size), cost
        if expr.op == "map":
            cost = _Cost(30, 30)
            for item in expr.args:
                cost = cost + self.visit(item)[1]
            return _Type("map", size=expr.size), cost
        if expr.op == "macro":
            return self._macro(expr)
        return self._call(expr)

    def _select(self, operand: _Type, name: str) -> _Type:
        if operand.name == "object" and operand.schema is not None:
            properties: dict[str, Schema] = operand.schema.get("properties", {})
            by_cel_name = {escape(key): sub for key, sub in properties.items() if escape(key)}
            if name in by_cel_name:
                return _schema_type(by_cel_name[name])
            hint = (
                f" (Kubernetes CEL spells the property {name!r} as {escape(name)!r})"
                if name in properties
                else ""
            )
            self.errors.append(f"undefined field {name!r}{hint}")
            return _DYN
        if operand.name == "map" and operand.schema is not None:
            return _schema_type(operand.schema["additionalProperties"])
        if operand.name in ("dyn", "map"):
            return _DYN
        self.errors.append(f"type {operand.name!r} does not support field selection ({name!r})")
        return _DYN

    def _macro(self, expr: Expr) -> tuple[_Type, _Cost]:
        assert expr.target is not None
        target, range_cost = self.visit(expr.target)
        variable, body = expr.args[0].name, expr.args[1]
        element = _DYN
        if (
            target.name == "list"
            and target.schema is not None
            and isinstance(target.schema.get("items"), dict)
        ):
            element = _schema_type(target.schema["items"])
        elif target.name == "map":
            element = _Type("string", size=MAX_REQUEST_BYTES - 2)
        saved = self.variables.get(variable)
        self.variables[variable] = element
        _, body_cost = self.visit(body)
        if saved is None:
            del self.variables[variable]
        else:
            self.variables[variable] = saved
        # cel-go's expansion: an accumulator, a loop condition and a step around the body, the result.
        init, per_item, result_cost = {
            "all": (0, 3, 1),  # @not_strictly_false(__result__); __result__ && body; __result__
            "exists": (0, 4, 1),  # @not_strictly_false(!__result__); __result__ || body; __result__
            "exists_one": (0, 2, 2),  # body ? __result__ + 1 : __result__; __result__ == 1
            "map": (10, 12, 1),  # []; __result__ + [body]; __result__
            "filter": (10, 13, 1),  # []; body ? __result__ + [x] : __result__; __result__
        }[expr.name]
        count = target.size if target.size is not None else _UNBOUNDED
        loop = _Cost(0, min(count * (per_item + body_cost.high), _UNBOUNDED))
        result = _Type("list", size=count) if expr.name in ("map", "filter") else _Type("bool", size=1)
        return result, range_cost + _Cost(init, init) + loop + _Cost(result_cost, result_cost)

    def _call(self, expr: Expr) -> tuple[_Type, _Cost]:
        visited = [self.visit(arg) for arg in expr.args]
        types = [t for t, _ in visited]
        args = _Cost()
        for _, cost in visited:
            args = args + cost
        target_type: _Type | None = None
        if expr.target is not None:
            target_type, target_cost = self.visit(expr.target)
            args = args + target_cost
        name = expr.name
        if name in ("_||_", "_&&_"):
            left, right = visited[0][1], visited[1][1]
            return _Type("bool", size=1), _Cost(left.low, (left + right).high)
        if name == "_?_:_":
            chosen = types[1] if (types[1].size or 0) >= (types[2].size or 0) else types[2]
            cond, yes, no = (cost for _, cost in visited)
            return chosen, cond + _Cost(min(yes.low, no.low), max(yes.high, no.high))
        if name == "_[_]":
            container = types[0]
            result = _DYN
            if container.schema is not None:
                if container.name == "list" and isinstance(container.schema.get("items"), dict):
                    result = _schema_type(container.schema["items"])
                elif container.name == "map":
                    result = _schema_type(container.schema["additionalProperties"])
            return result, args + _Cost(1, 1)
        if name in ("_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_"):
            smallest = min(_size(types[0]), _size(types[1]))
            if all(t.name in ("string", "bytes") for t in types) or name in ("_==_", "_!=_"):
                low = 1 if smallest > 0 else 0
                return _Type("bool", size=1), args + _Cost(_factor(low, 0.1), _factor(smallest, 0.1))
            return _Type("bool", size=1), args + _Cost(1, 1)
        if name == "_+_" and all(t.name in ("string", "bytes") for t in types):
            total = min(_size(types[0]) + _size(types[1]), _UNBOUNDED)
            return _Type(types[0].name, size=total), args + _Cost(0, _factor(total, _STRING_FACTOR))
        if name == "_+_" and all(t.name == "list" for t in types):
            total = min(_size(types[0]) + _size(types[1]), _UNBOUNDED)
            return _Type("list", size=total), args + _Cost(1, 1)
        if name == "@in":
            return _Type("bool", size=1), args + _Cost(0, _size(types[1]))
        if target_type is not None and name == "matches" and len(types) == 1:
            text = _factor(min(_size(target_type) + 1, _UNBOUNDED), _STRING_FACTOR)
            regex = _factor(_size(types[0]), _REGEX_FACTOR)
            return _Type("bool", size=1), args + _Cost(0, min(text * regex, _UNBOUNDED))
        if target_type is not None and name == "contains" and len(types) == 1:
            text = _factor(_size(target_type), _STRING_FACTOR)
            sub = _factor(_size(types[0]), _STRING_FACTOR)
            return _Type("bool", size=1), args + _Cost(0, min(text * sub, _UNBOUNDED))
        if target_type is not None and name in ("startsWith", "endsWith") and len(types) == 1:
            return _Type("bool", size=1), args + _Cost(0, _factor(_size(types[0]), _STRING_FACTOR))
        if name == "size":
            return _Type("int", size=1), args + _Cost(1, 1)
        if name in ("!_", "-_"):
            return types[0], args + _Cost(1, 1)
        # Everything else is O(1) in cel-go's estimator (and, here, the Kubernetes library's functions).
        return _DYN, args + _Cost(1, 1)


def _size(value: _Type) -> int:
    return value.size if value.size is not None else _UNBOUNDED


@dataclass(frozen=True)
class RuleReport:
    """What the API server's compiler would say of one rule: its errors, and its estimated cost."""

    errors: tuple[str, ...]
    cost: int


def check_rule(rule: str, schema: Schema, *, root: bool = False) -> RuleReport:
    """Type-check and cost ``rule`` on the schema node ``schema`` (``root`` for the resource's root)."""
    try:
        expr = parse(rule)
    except CelSyntaxError as exc:
        return RuleReport((f"does not compile: {exc}",), 0)
    node = root_schema(schema) if root else schema
    self_type = _schema_type(node)
    checker = _Checker({"self": self_type, "oldSelf": self_type})
    _, cost = checker.visit(expr)
    return RuleReport(tuple(dict.fromkeys(checker.errors)), cost.high)


def estimated_cost(rule: str, schema: Schema, *, root: bool = False) -> int:
    """cel-go's worst-case cost estimate of one evaluation of ``rule`` on ``schema``."""
    return check_rule(rule, schema, root=root).cost


def _field_path_ok(schema: Schema, field_path: str) -> bool:
    """Whether a rule's ``fieldPath`` (``.a.b``, ``['a.b']``) names a field declared under ``schema``."""
    parts = re.findall(r"\.([^.\[\]]+)|\['([^']*)'\]", field_path)
    if "".join(f".{a}" if a else f"['{b}']" for a, b in parts) != field_path.strip():
        return False
    node = schema
    for dotted, quoted in parts:
        key = dotted or quoted
        properties = node.get("properties", {})
        if key in properties:
            node = properties[key]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return False
    return True


def crd_problems(crd: dict[str, Any]) -> list[Problem]:
    """What the API server would refuse in ``crd``'s rules and defaults, one Problem per finding.

    ``field`` is the path in the CRD (``spec.versions[0].schema.openAPIV3Schema.properties[spec]...``).
    """
    from greenshift.validation.schema import check_default

    problems: list[Problem] = []
    for index, version in enumerate(crd.get("spec", {}).get("versions", [])):
        schema = (version.get("schema") or {}).get("openAPIV3Schema") or {}
        base = f"spec.versions[{index}].schema.openAPIV3Schema"
        total = 0
        for where, node, times in _nodes(schema, base):
            for number, rule in enumerate(node.get("x-kubernetes-validations", [])):
                at = f"{where}.x-kubernetes-validations[{number}]"
                report = check_rule(rule["rule"], node, root=node is schema)
                for error in report.errors:
                    problems.append(Problem(f"{at}.rule", f"compilation failed: {error}"))
                cost = min(report.cost * times, _UNBOUNDED)
                total = min(total + cost, _UNBOUNDED)
                if cost > PER_RULE_COST_LIMIT:
                    problems.append(
                        Problem(
                            f"{at}.rule",
                            f"estimated rule cost {cost} exceeds the limit of {PER_RULE_COST_LIMIT}: "
                            "add maxLength, maxItems or maxProperties where it reads strings, lists or maps",
                        )
                    )
                field_path = rule.get("fieldPath")
                if field_path and not _field_path_ok(node, field_path):
                    problems.append(
                        Problem(
                            f"{at}.fieldPath",
                            f"{field_path!r} must be a valid path: a field declared in the schema",
                        )
                    )
            if "default" in node:
                for problem in check_default(node, node["default"]):
                    problems.append(Problem(f"{where}.default", f"{problem.field}: {problem.message}"))
        if total > PER_CRD_COST_LIMIT:
            problems.append(
                Problem(
                    base,
                    f"the estimated cost of all rules, {total}, exceeds the limit of {PER_CRD_COST_LIMIT}",
                )
            )
    return problems
