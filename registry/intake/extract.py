"""Turn a fitted supported estimator into plan JSON, a description, and hints for probe rows."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import (
    ARDRegression,
    BayesianRidge,
    ElasticNet,
    ElasticNetCV,
    GammaRegressor,
    HuberRegressor,
    Lars,
    LarsCV,
    Lasso,
    LassoCV,
    LassoLars,
    LassoLarsCV,
    LinearRegression,
    LogisticRegression,
    LogisticRegressionCV,
    OrthogonalMatchingPursuit,
    PoissonRegressor,
    QuantileRegressor,
    Ridge,
    RidgeCV,
    SGDClassifier,
    SGDRegressor,
    TweedieRegressor,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from registry.errors import InvalidArtifact, InvalidFeatures, UnsupportedEstimator
from registry.intake.allowlist import (
    SUPPORTED_STEPS,
    printable,
    supported_sentence,
    unsupported_message,
)
from registry.intake.columns import Preparation
from registry.intake.design import NO_FILL, Categorical, Column, Normalized, Product, Raw, Value
from registry.intake.elementwise import probe_range
from registry.intake.encoders import python_value
from registry.intake.inert import Inert, inert_name
from registry.intake.products import fold_constants
from registry.intake.wrappers import WRAPPERS, inner_estimator, unwrap
from registry.plans import PLAN_FORMAT

# Each predicts X @ coef_ + intercept_ (a regressor) or a link of it (a classifier).
_REGRESSORS = (
    LinearRegression,
    Ridge,
    RidgeCV,
    Lasso,
    LassoCV,
    ElasticNet,
    ElasticNetCV,
    Lars,
    LarsCV,
    LassoLars,
    LassoLarsCV,
    OrthogonalMatchingPursuit,
    HuberRegressor,
    QuantileRegressor,
    BayesianRidge,
    ARDRegression,
    SGDRegressor,
)
# Generalized linear models: the prediction is the inverse link of X @ coef_ + intercept_.
GLMS = (PoissonRegressor, GammaRegressor, TweedieRegressor)
_LOGISTIC = (LogisticRegression, LogisticRegressionCV)
_CLASSIFIERS = (*_LOGISTIC, SGDClassifier)
_HEADS = (*_REGRESSORS, *GLMS, *_CLASSIFIERS)
_RELEASE = re.compile(r"[0-9]+\.[0-9]+(\.[0-9]+)?([a-z]+[0-9]*|\.post[0-9]+|\.dev[0-9]+)?")


@dataclass(frozen=True)
class Hint:
    """How to make probe values for one feature that scikit-learn reads as intended."""

    mul: float = 1.0
    add: float = 0.0
    center: float = 0.0
    missing: Any = math.nan  # the value scikit-learn reads as missing: NaN, or None
    kind: str = "f"  # numpy dtype kind the estimator was fitted on
    span: tuple[float, float] | None = None  # where a column's ops change shape, as inputs


@dataclass(frozen=True)
class Extraction:
    """A fitted estimator as the registry keeps it, with what probing it needs."""

    kind: str
    estimator: str
    plan: dict[str, Any]
    input_names: tuple[str, ...]
    has_names: bool
    hints: dict[str, Hint] = field(default_factory=dict)
    release: str | None = None  # the scikit-learn release that saved the estimator
    search: dict[str, Any] | None = None  # a fitted search's summary (intake.searches)


def extract(
    estimator: Any,
    feature_names: list[str] | None = None,
    feature_types: dict[str, dict[str, Any]] | None = None,
) -> Extraction:
    """Return the plan of a fitted supported estimator.

    ``feature_types`` maps a feature name to what the uploader declared about it: its JSON
    ``type`` (a column that reaches the model as a number may be integer or boolean), and
    optionally ``nullable`` (only to refuse nulls) and ``enum`` (must match the encoder).
    Raises UnsupportedEstimator, InvalidFeatures or InvalidArtifact.
    """
    model, steps, target, search = _split(estimator)
    names, has_names = _input_names(estimator, feature_names)
    preparation = Preparation(saved_release(estimator))
    columns: list[Column] = [Raw(i) for i in range(len(names))]
    for step in steps:
        columns = preparation.apply(step, columns)
    kind, link, coef, intercept, classes = _head(model)
    if coef.shape[1] != len(columns):
        raise InvalidArtifact(
            f"{type(model).__name__} has {coef.shape[1]} coefficients but its preparation makes "
            f"{len(columns)} columns."
        )
    design = [_to_design(c, model) for c in columns]
    design, coef, intercept = fold_constants(design, coef, intercept)
    features, hints = _features(names, design, preparation, feature_types or {})
    used = {f["name"] for f in features}
    plan = {
        "format": PLAN_FORMAT,
        "kind": kind,
        "link": link,
        "features": features,
        "ignored": [n for n in names if n not in used],
        "columns": [_column_json(c, names) for c in design],
        "coef": _finite(coef, "coefficients").tolist(),
        "intercept": _finite(intercept, "intercept").tolist(),
        "classes": classes,
    }
    if target:
        plan["target"] = target
    return Extraction(
        kind,
        describe(estimator),
        plan,
        tuple(names),
        has_names,
        hints,
        saved_release(estimator),
        search,
    )


def saved_release(estimator: Any) -> str | None:
    """Return the scikit-learn release named in the saved state, when it names a plain one."""
    release = vars(estimator).get("_sklearn_version")
    if type(release) is str and _RELEASE.fullmatch(release):
        return release
    return None


def _split(estimator: Any) -> tuple[Any, list[Any], list[dict[str, Any]], dict[str, Any] | None]:
    """Return the head, the steps before it, the inverse target steps after it, and the
    summary of the outermost search around it.

    Pipelines are flattened and wrappers opened: a TransformedTargetRegressor passes its inputs
    to its regressor unchanged, so the regressor's own steps follow those around it.
    """
    before: list[Any] = []
    target: list[dict[str, Any]] = []
    search = None
    model = estimator
    while True:
        if type(model) is Pipeline:
            steps = [s for _, s in _pipeline_steps(model)]
            if not steps:
                raise InvalidArtifact("The Pipeline has no steps.")
            model = steps[-1]
            before.extend(steps[:-1])
        elif type(model) in WRAPPERS:
            inside = unwrap(model)
            # An outer wrapper's inverse applies after the inner one's.
            target[:0] = inside.target
            search = search or inside.search
            model = inside.inner
        else:
            break
    for part in (*before, model):
        if type(part) is Inert:
            # Read as a placeholder (a splitter, a scorer): never a step or a model.
            raise UnsupportedEstimator(unsupported_message(inert_name(part) or "Inert"))
    if type(model) in _HEADS:
        for step in before:
            if type(step) in (*_HEADS, *WRAPPERS):
                raise UnsupportedEstimator(
                    f"{type(step).__name__} can only be the last step of a Pipeline."
                )
        if target and type(model) in _CLASSIFIERS:
            raise UnsupportedEstimator(
                f"TransformedTargetRegressor around {type(model).__name__} is not supported; "
                "it needs a regressor."
            )
        return model, before, target, search
    name = type(model).__name__
    if name in SUPPORTED_STEPS or type(model) is FunctionTransformer:
        raise UnsupportedEstimator(f"The file holds a {name}, not a model; {supported_sentence()}.")
    raise UnsupportedEstimator(unsupported_message(name))


def _pipeline_steps(pipeline: Pipeline) -> list[tuple[str, Any]]:
    steps = getattr(pipeline, "steps", None)
    if type(steps) is not list or not all(type(s) is tuple and len(s) == 2 for s in steps):
        raise InvalidArtifact("The Pipeline's steps are damaged.")
    return steps


def _input_names(estimator: Any, given: list[str] | None) -> tuple[list[str], bool]:
    first = estimator
    while type(first) in (Pipeline, *WRAPPERS):
        if type(first) is not Pipeline:
            first = inner_estimator(first)
            continue
        real = [s for _, s in _pipeline_steps(first) if not _skipped(s)]
        if not real:
            raise InvalidArtifact("The Pipeline has no steps.")
        first = real[0]
    count = getattr(first, "n_features_in_", None)
    if type(count) is not int or count < 1:
        raise InvalidArtifact(f"The {type(first).__name__} is not fitted.")
    own = getattr(first, "feature_names_in_", None)
    if own is not None:
        if type(own) is not np.ndarray or own.shape != (count,):
            raise InvalidArtifact("The model's feature_names_in_ is damaged.")
        own = [python_value(n) for n in own]
        _check_names(own, count, "The model's feature_names_in_")
        if given is not None and list(given) != own:
            raise InvalidFeatures(
                "The feature names given do not match the names the model was fitted with; "
                "they must be the same names in the same order."
            )
        return own, True
    if given is None:
        raise InvalidFeatures(
            f"The model was fitted without feature names; give its {count} feature names in order."
        )
    _check_names(given, count, "The feature names given")
    return list(given), False


def _check_names(names: list[Any], count: int, what: str) -> None:
    if len(names) != count:
        raise InvalidFeatures(f"{what} must list {count} names, not {len(names)}.")
    if not all(type(n) is str and n != "" for n in names):
        raise InvalidFeatures(f"{what} must all be non-empty strings.")
    if len(set(names)) != len(names):
        raise InvalidFeatures(f"{what} must be unique.")


def _array(model: Any, attribute: str) -> np.ndarray:
    value = getattr(model, attribute, None)
    if isinstance(value, (float, int, np.floating, np.integer)) and not isinstance(value, bool):
        value = np.array([value], dtype=np.float64)
    if type(value) is not np.ndarray or value.dtype.kind not in "iuf":
        raise InvalidArtifact(f"The {type(model).__name__} is not fitted.")
    return value.astype(np.float64)


def _head(model: Any) -> tuple[str, str, np.ndarray, np.ndarray, list[Any] | None]:
    name = type(model).__name__
    coef, intercept = _array(model, "coef_"), _array(model, "intercept_")
    if coef.ndim == 1:
        coef = coef[None, :]
    if coef.ndim != 2:
        raise InvalidArtifact(f"The {name}'s coefficients are damaged.")
    if type(model) not in _CLASSIFIERS:
        if coef.shape[0] != 1:
            raise UnsupportedEstimator(
                f"{name} predicts {coef.shape[0]} targets; multi-output regression is not "
                "supported."
            )
        if intercept.shape != (1,):
            raise InvalidArtifact(f"The {name}'s intercept is damaged.")
        link = glm_link(model) if type(model) in GLMS else "identity"
        return "linear", link, coef, intercept, None
    labels = getattr(model, "classes_", None)
    if type(labels) is not np.ndarray or labels.ndim != 1 or len(labels) < 2:
        raise InvalidArtifact(f"The {name} is not fitted.")
    classes = [python_value(c) for c in labels]
    outputs = 1 if len(classes) == 2 else len(classes)
    if coef.shape[0] != outputs or intercept.shape != (outputs,):
        raise InvalidArtifact(f"The {name}'s coefficients do not fit its classes.")
    if type(model) is SGDClassifier:
        loss = vars(model).get("loss")
        if loss not in ("log_loss", "log"):
            raise UnsupportedEstimator(
                f"SGDClassifier with loss={printable(str(loss))!r} gives no probabilities; "
                "only loss='log_loss' is supported."
            )
        # scikit-learn scores its classes one against the rest and normalises the sigmoids.
        return "logistic", "logistic" if len(classes) == 2 else "ovr", coef, intercept, classes
    if not one_vs_rest(model, len(classes)):
        if len(classes) > 2:
            return "logistic", "softmax", coef, intercept, classes
        # A binary multinomial model answers softmax([-d, d]), which is the logistic link of 2d.
        coef, intercept = 2.0 * coef, 2.0 * intercept
    link = "logistic" if len(classes) == 2 else "ovr"
    return "logistic", link, coef, intercept, classes


_LINKS = {"LogLink": "log", "IdentityLink": "identity"}


def glm_link(model: Any) -> str:
    """Return a GLM's link as the release that saved it fitted it: read from its saved loss.

    Releases from 1.1 keep the loss (with its link object) in ``_base_loss``; without one, the
    link follows the parameters as every such release chose it.
    """
    loss = vars(model).get("_base_loss")
    if loss is not None:
        part = loss.state.get("link") if type(loss) is Inert and type(loss.state) is dict else None
        if type(loss) is not Inert:
            part = getattr(loss, "link", None)
        saved = inert_name(part) or type(part).__name__
        if saved not in _LINKS:
            raise UnsupportedEstimator(
                f"{type(model).__name__} with a {printable(saved)} link is not supported; "
                "the log and identity links are."
            )
        return _LINKS[saved]
    if type(model) is not TweedieRegressor:
        return "log"
    link, power = vars(model).get("link", "auto"), vars(model).get("power", 0.0)
    if link == "auto" and isinstance(power, (int, float)):
        return "identity" if power <= 0 else "log"
    if link in ("log", "identity"):
        return link
    raise UnsupportedEstimator(
        f"TweedieRegressor with link={printable(str(link))!r} is not supported; "
        "link='auto', 'log' and 'identity' are."
    )


def one_vs_rest(model: LogisticRegression, n_classes: int) -> bool:
    """Tell whether the release that saved the model scored it one class against the rest.

    Read from the saved state, not the installed class: releases up to 1.7 keep multi_class
    (default 'auto', 'deprecated' from 1.5), and 'ovr' or liblinear mean one-vs-rest; later
    releases have no such setting and score binary models with the sigmoid, others with softmax.
    """
    state = vars(model)
    if "multi_class" not in state:
        return n_classes <= 2
    multi_class = state["multi_class"]
    if multi_class in ("ovr", "warn"):
        return True
    if multi_class in ("auto", "deprecated"):
        return n_classes <= 2 or state.get("solver") == "liblinear"
    if multi_class == "multinomial":
        return False
    raise UnsupportedEstimator(
        f"LogisticRegression with multi_class={printable(str(multi_class))!r} is not supported."
    )


def _to_design(column: Column, model: Any) -> Value | Categorical | Product | Normalized:
    if type(column) is Categorical and column.unknown is None:
        raise UnsupportedEstimator(
            "OrdinalEncoder(unknown_value=nan) makes an unseen category NaN, and nothing after "
            f"it fills that in before {type(model).__name__}, which cannot score NaN; put a "
            "SimpleImputer after the encoder, or give unknown_value a number."
        )
    if type(column) is not Raw:
        return column
    if column.fill is NO_FILL:
        return Value(column.source)
    fill = column.fill
    if isinstance(fill, bool) or not isinstance(fill, (int, float)):
        raise UnsupportedEstimator(
            f"{type(model).__name__} receives a column that is not numeric; encode it with "
            "OneHotEncoder."
        )
    return Value(column.source, missing=float(fill))


def _features(
    names: list[str],
    design: list[Value | Categorical | Product | Normalized],
    preparation: Preparation,
    declared: dict[str, dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, Hint]]:
    features: list[dict[str, Any]] = []
    hints: dict[str, Hint] = {}
    # A product's or a Normalizer's factors are value columns of their inputs.
    flat = [f for c in design for f in (c.factors if type(c) in (Product, Normalized) else (c,))]
    for source, name in enumerate(names):
        fed = [c for c in flat if c.source == source]
        if not fed:
            continue
        one_hot = {type(c) is Categorical for c in fed}
        if len(one_hot) != 1:
            raise UnsupportedEstimator(
                f"Input {name!r} is used both as a number and one-hot encoded; this is not "
                "supported."
            )
        nullable = source not in preparation.never_missing and all(
            c.missing is not None for c in fed
        )
        said = declared.get(name, {})
        if one_hot.pop():
            encoding = preparation.encodings[source]
            spec = {"name": name, "type": encoding.type, "enum": list(encoding.enum)}
            if encoding.accepts_unknown:
                spec["accepts_unknown"] = True
            hints[name] = Hint(missing=encoding.missing_input, kind=encoding.kind)
        else:
            spec = {"name": name, "type": said.get("type", "number")}
            first = next((c for c in fed if c.ops), fed[0])
            span = probe_range(first)
            hints[name] = Hint(mul=first.mul, add=first.add, center=first.center, span=span)
        _check_declared(spec, said, nullable)
        spec["nullable"] = nullable and said.get("nullable", True)
        features.append(spec)
    if not features:
        raise UnsupportedEstimator("The model uses none of its inputs.")
    return features, hints


def _check_declared(spec: dict[str, Any], said: dict[str, Any], nullable: bool) -> None:
    """Refuse a declaration that contradicts what the fitted steps do with the feature."""
    name, type_ = spec["name"], said.get("type", spec["type"])
    if "enum" in spec and (type_ != spec["type"] or said.get("enum", spec["enum"]) != spec["enum"]):
        raise InvalidFeatures(
            f"Feature {name!r} is one-hot encoded with {spec['type']} categories "
            f"{spec['enum'][:5]}...; declare it as such or leave its type out.",
            {"features": [f"{name}: does not match the fitted encoder."]},
        )
    if "enum" not in spec and (type_ == "string" or "enum" in said):
        raise InvalidFeatures(
            f"Feature {name!r} reaches the model as a number; declare it number, integer or "
            "boolean, without an enum.",
            {"features": [f"{name}: reaches the model as a number."]},
        )
    if said.get("nullable") is True and not nullable:
        raise InvalidFeatures(
            f"Feature {name!r} cannot be nullable: nothing in the model fills in a missing value.",
            {"features": [f"{name}: nothing fills in a missing value."]},
        )


def _column_json(
    column: Value | Categorical | Product | Normalized, names: list[str]
) -> dict[str, Any]:
    if type(column) is Normalized:
        return {
            "normalize": [_column_json(f, names) for f in column.factors],
            "norm": column.norm,
            "index": column.index,
            "mul": _finite_float(column.mul),
            "add": _finite_float(column.add),
        }
    if type(column) is Product:
        return {
            "product": [_column_json(f, names) for f in column.factors],
            "mul": _finite_float(column.mul),
            "add": _finite_float(column.add),
        }
    out: dict[str, Any] = {
        "feature": names[column.source],
        "mul": _finite_float(column.mul),
        "add": _finite_float(column.add),
        "missing": None if column.missing is None else _finite_float(column.missing),
    }
    if type(column) is Categorical:
        out.update(_categories_json(column))
    else:
        if column.center:
            out["center"] = _finite_float(column.center)
        if column.ops:
            out["ops"] = [dict(op) for op in column.ops]
    return out


def _categories_json(column: Categorical) -> dict[str, Any]:
    """A one-hot column names its category; any other categorical column lists its values."""
    pairs = column.values
    if column.unknown == 0.0 and len(pairs) <= 1 and all(v == 1.0 for _, v in pairs):
        return {"category": pairs[0][0] if pairs else None}
    return {
        "lookup": [[category, _finite_float(value)] for category, value in pairs],
        "unknown": _finite_float(column.unknown),
    }


def _finite_float(value: float) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise InvalidArtifact("The model's preparation produces values that are not finite.")
    return value


def _finite(values: np.ndarray, what: str) -> np.ndarray:
    if not np.all(np.isfinite(values)):
        raise InvalidArtifact(f"The model's {what} are not all finite.")
    return values


def describe(step: Any, in_columns: bool = False) -> str:
    """Return a nested description such as "Pipeline(StandardScaler, LogisticRegression)"."""
    if type(step) is Pipeline:
        inner = [describe(s) for _, s in _pipeline_steps(step) if not _skipped(s)]
        return f"Pipeline({', '.join(inner)})"
    if type(step) in WRAPPERS:
        return f"{type(step).__name__}({describe(inner_estimator(step))})"
    if type(step) is ColumnTransformer:
        selected = getattr(step, "_transformer_to_input_indices", {})
        inner = [
            describe(t, in_columns=True)
            for name, t, *_ in getattr(step, "transformers_", [])
            if selected.get(name) and not (isinstance(t, str) and t == "drop")
        ]
        return f"ColumnTransformer({', '.join(inner)})"
    # A fitted ColumnTransformer keeps its 'passthrough' columns as an identity FunctionTransformer.
    if _skipped(step) or (in_columns and type(step) is FunctionTransformer):
        return "passthrough"
    return type(step).__name__


def _skipped(step: Any) -> bool:
    return step is None or (isinstance(step, str) and step == "passthrough")
