"""A plan as an ONNX graph (opset 19), built node by node from the plan's numbers.

Inputs: one 1-D tensor per feature, named as the feature: double for number, integer and
boolean features (NaN is a missing value, booleans are 0 and 1), string for string features
(the empty string is a missing value). Outputs: ``prediction`` (rows,) and, for a classifier,
``probabilities`` (rows, classes) in the plan's class order. A row the service would refuse
(a required value missing, a value outside a closed enum) scores NaN (a classifier's label is
then arbitrary: read the probabilities).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from registry.errors import NotExportable
from registry.plans import Plan
from registry.plans.spec import Feature

OPSET = 19
_SERIES_BOUND = 1e-5
_EPS = float(np.finfo(np.float64).eps)


class _Graph:
    """Nodes and constants under construction, each output named once."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.constants: list[onnx.TensorProto] = []
        self._count = 0

    def name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, value: Any, dtype: Any = np.float64) -> str:
        name = self.name("c")
        array = np.array(value, dtype=dtype) if dtype is not object else np.array(value, object)
        self.constants.append(numpy_helper.from_array(array, name))
        return name

    def op(self, kind: str, *inputs: str, **attributes: Any) -> str:
        out = self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, list(inputs), [out], **attributes))
        return out

    def num(self, value: float) -> str:
        return self.const(float(value))  # NaN only where a refused row is meant

    def log1p(self, x: str) -> str:
        series = self.op(
            "Add",
            self.op("Sub", x, self.op("Div", self.op("Mul", x, x), self.num(2.0))),
            self.op("Div", self.op("Mul", self.op("Mul", x, x), x), self.num(3.0)),
        )
        small = self.op("Less", self.op("Abs", x), self.num(_SERIES_BOUND))
        return self.op("Where", small, series, self.op("Log", self.op("Add", self.num(1.0), x)))

    def expm1(self, x: str) -> str:
        series = self.op(
            "Add",
            self.op("Add", x, self.op("Div", self.op("Mul", x, x), self.num(2.0))),
            self.op("Div", self.op("Mul", self.op("Mul", x, x), x), self.num(6.0)),
        )
        small = self.op("Less", self.op("Abs", x), self.num(_SERIES_BOUND))
        return self.op("Where", small, series, self.op("Sub", self.op("Exp", x), self.num(1.0)))

    def affine(self, x: str, center: float, mul: float, add: float) -> str:
        return self.op(
            "Add", self.op("Mul", self.op("Sub", x, self.num(center)), self.num(mul)), self.num(add)
        )

    def function(self, name: str, x: str) -> str:
        if name in ("log", "exp", "sqrt"):
            return self.op(name.capitalize(), x)
        if name in ("abs", "absolute"):
            return self.op("Abs", x)
        if name == "square":
            return self.op("Mul", x, x)
        return self.log1p(x) if name == "log1p" else self.expm1(x)


def plan_onnx(plan: Plan) -> bytes:
    """Return the serialized ONNX model that computes ``plan``; raises NotExportable."""
    g = _Graph()
    inputs = [
        helper.make_tensor_value_info(
            f.name, TensorProto.STRING if f.type == "string" else TensorProto.DOUBLE, ["N"]
        )
        for f in plan.features
    ]
    parts = [_value_design(g, plan)] if len(plan._value_src) else []
    for source, (lookup, table, _) in plan._onehot.items():
        parts.append(_category_part(g, plan.features[source], lookup, table))
    scores = g.op("Add", parts[0], g.const(plan.intercept)) if parts else g.const(plan.intercept)
    for part in parts[1:]:
        scores = g.op("Add", scores, part)
    outputs = _head(g, plan, scores)
    graph = helper.make_graph(g.nodes, "plan", inputs, outputs, g.constants)
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("ai.onnx.ml", 3)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _value_design(g: _Graph, plan: Plan) -> str:
    """Return the (rows, outputs) part of the value columns: design @ coef."""
    raw_columns = [c for c in plan.raw["columns"] if "category" not in c and "lookup" not in c]
    columns = []
    for k, (column, source) in enumerate(zip(raw_columns, plan._value_src, strict=True)):
        feature = plan.features[source]
        x = feature.name
        for op in column.get("ops", []):
            x = _op(g, op, x)
        z = g.affine(x, plan._value_center[k], plan._value_mul[k], plan._value_add[k])
        if feature.nullable:
            z = g.op("Where", g.op("IsNaN", feature.name), g.num(plan._value_missing[k]), z)
        if feature.enum is not None and not feature.accepts_unknown:
            known = g.op("IsNaN", feature.name)
            for value in feature.enum:
                known = g.op("Or", known, g.op("Equal", feature.name, g.num(float(value))))
            z = g.op("Where", known, z, g.num(math.nan))
        columns.append(g.op("Unsqueeze", z, g.const([1], np.int64)))
    design = g.op("Concat", *columns, axis=1)
    return g.op("MatMul", design, g.const(plan._value_coef))


def _op(g: _Graph, op: dict[str, Any], x: str) -> str:
    kind = op["op"]
    if kind == "affine":
        return g.affine(x, op["center"], op["mul"], op["add"])
    if kind == "clip":
        return g.op("Min", g.op("Max", x, g.num(op["low"])), g.num(op["high"]))
    if kind == "ufunc":
        return g.function(op["name"], x)
    if kind == "step":
        if not op["edges"]:
            return g.op("Add", g.op("Mul", x, g.num(0.0)), g.num(op["values"][0]))
        column = g.op("Unsqueeze", x, g.const([1], np.int64))
        compare = "Greater" if op["side"] == "left" else "GreaterOrEqual"
        hits = g.op("Cast", g.op(compare, column, g.const(op["edges"])), to=TensorProto.INT64)
        index = g.op("ReduceSum", hits, g.const([1], np.int64), keepdims=0)
        return g.op("Gather", g.const(op["values"]), index)
    if kind == "yeo_johnson":
        lmbda = float(op["lambda"])
        if abs(lmbda) < _EPS:
            positive = g.log1p(x)
        else:
            scaled = g.op("Mul", g.num(lmbda), g.log1p(x))
            positive = g.op("Div", g.expm1(scaled), g.num(lmbda))
        minus = g.op("Neg", x)
        if abs(lmbda - 2) > _EPS:
            scaled = g.op("Mul", g.num(2 - lmbda), g.log1p(minus))
            negative = g.op("Neg", g.op("Div", g.expm1(scaled), g.num(2 - lmbda)))
        else:
            negative = g.op("Neg", g.log1p(minus))
        return g.op("Where", g.op("GreaterOrEqual", x, g.num(0.0)), positive, negative)
    if kind == "box_cox":
        lmbda = float(op["lambda"])
        if abs(lmbda) < 1e-19:
            return g.op("Log", x)
        return g.op("Div", g.expm1(g.op("Mul", g.num(lmbda), g.op("Log", x))), g.num(lmbda))
    raise NotExportable(
        f"The plan holds the step kind {kind!r}, which the ONNX export does not know.",
        {"plan": [f"Unknown step kind for ONNX: {kind}."]},
    )


def _category_part(
    g: _Graph, feature: Feature, lookup: dict[tuple[type, Any], int], table: np.ndarray
) -> str:
    """Return a categorical feature's (rows, outputs) part: a row of its table per value."""
    refused = len(table)
    rows = np.vstack([table, np.full((1, table.shape[1]), np.nan)])
    unknown = len(table) - 2 if feature.accepts_unknown else refused
    x = feature.name
    is_string = feature.type == "string"
    if is_string:
        # A hash lookup: a chain of Equal nodes would cost a pass over the rows per category.
        index = g.name("labelencoder")
        g.nodes.append(
            helper.make_node(
                "LabelEncoder",
                [x],
                [index],
                domain="ai.onnx.ml",
                keys_strings=[value for (_, value) in lookup],
                values_int64s=list(lookup.values()),
                default_int64=unknown,
            )
        )
    else:
        index = g.op("Expand", g.const(unknown, np.int64), g.op("Shape", x))
        for (_, value), row in lookup.items():
            index = g.op(
                "Where", g.op("Equal", x, g.num(float(value))), g.const(row, np.int64), index
            )
    missing = len(table) - 1 if feature.nullable else refused
    absent = g.op("Equal", x, g.const("", object)) if is_string else g.op("IsNaN", x)
    index = g.op("Where", absent, g.const(missing, np.int64), index)
    return g.op("Gather", g.const(rows), index, axis=0)


def _head(g: _Graph, plan: Plan, scores: str) -> list[onnx.ValueInfoProto]:
    if plan.kind == "linear":
        y = g.op("Squeeze", scores, g.const([1], np.int64))
        if plan.link == "log":
            y = g.op("Exp", y)
        for function, center, mul, add in plan.target:
            y = g.affine(y, center, mul, add) if function == "affine" else g.function(function, y)
        g.nodes.append(helper.make_node("Identity", [y], ["prediction"]))
        return [helper.make_tensor_value_info("prediction", TensorProto.DOUBLE, ["N"])]
    if plan.link == "logistic":
        s = g.op("Squeeze", scores, g.const([1], np.int64))
        positive = _sigmoid(g, s)
        probabilities = g.op(
            "Concat",
            g.op("Unsqueeze", g.op("Sub", g.num(1.0), positive), g.const([1], np.int64)),
            g.op("Unsqueeze", positive, g.const([1], np.int64)),
            axis=1,
        )
        pick = g.op("Cast", g.op("Greater", s, g.num(0.0)), to=TensorProto.INT64)
    else:
        if plan.link == "ovr":
            weights = _sigmoid(g, scores)
        else:
            top = g.op("ReduceMax", scores, g.const([1], np.int64), keepdims=1)
            weights = g.op("Exp", g.op("Sub", scores, top))
        total = g.op("ReduceSum", weights, g.const([1], np.int64), keepdims=1)
        probabilities = g.op("Div", weights, total)
        pick = g.op("ArgMax", probabilities, axis=1, keepdims=0)
    classes = list(plan.classes or [])
    label_type, dtype = _label_type(classes)
    g.nodes.append(
        helper.make_node("Gather", [g.const(classes, dtype), pick], ["prediction"], axis=0)
    )
    g.nodes.append(helper.make_node("Identity", [probabilities], ["probabilities"]))
    return [
        helper.make_tensor_value_info("prediction", label_type, ["N"]),
        helper.make_tensor_value_info("probabilities", TensorProto.DOUBLE, ["N", len(classes)]),
    ]


def _sigmoid(g: _Graph, s: str) -> str:
    one = g.num(1.0)
    down = g.op("Div", one, g.op("Add", one, g.op("Exp", g.op("Neg", s))))
    e = g.op("Exp", s)
    up = g.op("Div", e, g.op("Add", one, e))
    return g.op("Where", g.op("GreaterOrEqual", s, g.num(0.0)), down, up)


def _label_type(classes: list[Any]) -> tuple[int, Any]:
    if all(isinstance(c, bool) for c in classes):
        return TensorProto.BOOL, np.bool_
    if all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return TensorProto.INT64, np.int64
    if all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in classes):
        return TensorProto.DOUBLE, np.float64
    return TensorProto.STRING, object
