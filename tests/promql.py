"""A small PromQL parser for tests: it checks that a query is well formed and lists the metric
and label names it uses. It covers what dashboards use (selectors, ranges, functions,
aggregations with by/without, binary operators with bool/on/ignoring/group_left/right); Grafana's
`$__` variables and `$var` must be substituted first."""

from __future__ import annotations

import re

AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                "bottomk", "topk", "quantile", "limitk", "limit_ratio"}  # fmt: skip
FUNCTIONS = {
    "abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes", "clamp", "clamp_max",
    "clamp_min", "count_over_time", "delta", "deriv", "exp", "floor", "histogram_quantile",
    "histogram_count", "histogram_sum", "idelta", "increase", "irate", "label_replace", "label_join",
    "last_over_time", "ln", "log2", "log10", "max_over_time", "min_over_time", "predict_linear",
    "quantile_over_time", "rate", "resets", "round", "scalar", "sort", "sort_desc", "sqrt",
    "stddev_over_time", "sum_over_time", "time", "timestamp", "vector",
}  # fmt: skip
BINARY = {"+", "-", "*", "/", "%", "^", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless"}
_TOKEN = re.compile(
    r"\s*(?:(?P<duration>\d+(?:ms|s|m|h|d|w|y))\b|(?P<number>\d+(?:\.\d*)?|\.\d+)"
    r"|(?P<string>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')|(?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)"
    r"|(?P<op>=~|!~|==|!=|>=|<=|[-+*/%^(){}\[\],=<>]))"
)


class PromQLError(ValueError):
    pass


class Query:
    """Parse `text`; `metrics` and `labels` are the names it uses."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.metrics: set[str] = set()
        self.labels: set[str] = set()
        self._expr()
        if self.pos != len(self.tokens):
            raise PromQLError(f"unexpected {self._peek()!r} in {text!r}")

    def _peek(self) -> str:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else ""

    def _kind(self) -> str:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else ""

    def _take(self, expected: str | None = None) -> str:
        if self.pos >= len(self.tokens):
            raise PromQLError(f"ended early, expected {expected!r}")
        value = self.tokens[self.pos][1]
        if expected is not None and value != expected:
            raise PromQLError(f"expected {expected!r}, found {value!r}")
        self.pos += 1
        return value

    def _expr(self) -> None:
        self._unary()
        while self._peek() in BINARY:
            self._take()
            if self._peek() == "bool":
                self._take()
            if self._peek() in ("on", "ignoring"):
                self._take()
                self._label_list()
                if self._peek() in ("group_left", "group_right"):
                    self._take()
                    if self._peek() == "(":
                        self._label_list()
            self._unary()

    def _unary(self) -> None:
        if self._peek() in ("-", "+"):
            self._take()
        self._primary()
        if self._peek() == "[":
            self._take("[")
            if self._kind() != "duration":
                raise PromQLError(f"a range needs a duration, found {self._peek()!r}")
            self._take()
            self._take("]")

    def _primary(self) -> None:
        kind, value = self.tokens[self.pos] if self.pos < len(self.tokens) else ("", "")
        if kind in ("number", "string"):
            self._take()
        elif value == "(":
            self._take()
            self._expr()
            self._take(")")
        elif value == "{":
            self._matchers()
        elif kind == "ident" and value in AGGREGATIONS:
            self._take()
            self._grouping()
            self._args()
            self._grouping()
        elif (
            kind == "ident"
            and value in FUNCTIONS
            and self.tokens[self.pos + 1 : self.pos + 2] == [("op", "(")]
        ):
            self._take()
            self._args()
        elif kind == "ident":
            self.metrics.add(self._take())
            if self._peek() == "{":
                self._matchers()
        else:
            raise PromQLError(f"unexpected {value!r}")

    def _grouping(self) -> None:
        if self._peek() in ("by", "without"):
            self._take()
            self._label_list()

    def _label_list(self) -> None:
        self._take("(")
        while self._peek() != ")":
            if self._kind() != "ident":
                raise PromQLError(f"a label name expected, found {self._peek()!r}")
            self.labels.add(self._take())
            if self._peek() == ",":
                self._take()
        self._take(")")

    def _args(self) -> None:
        self._take("(")
        while self._peek() != ")":
            self._expr()
            if self._peek() == ",":
                self._take()
        self._take(")")

    def _matchers(self) -> None:
        self._take("{")
        while self._peek() != "}":
            if self._kind() != "ident":
                raise PromQLError(f"a label name expected, found {self._peek()!r}")
            self.labels.add(self._take())
            if self._take() not in ("=", "!=", "=~", "!~"):
                raise PromQLError("a label matcher needs =, !=, =~ or !~")
            if self._kind() != "string":
                raise PromQLError("a label matcher needs a quoted value")
            self._take()
            if self._peek() == ",":
                self._take()
        self._take("}")


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise PromQLError(f"cannot read {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out
