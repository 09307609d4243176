"""The exact (module, name) globals a model file may name, and what each may be used for."""

from __future__ import annotations

import enum
import inspect
import re
from dataclasses import dataclass
from typing import Any

from registry.intake.inert import INERT, SKOPS_INERT
from registry.intake.standins import STAND_INS


class Use(enum.Enum):
    """How the unpickler may use a global."""

    ESTIMATOR = "estimator"  # created by NEWOBJ, state set by a checked BUILD
    ARRAY_WRAPPER = "array_wrapper"  # joblib's NumpyArrayWrapper, read by our own code
    CALLABLE = "callable"  # only ever called by REDUCE, through an argument checker
    VALUE = "value"  # a harmless type that may appear as a plain value (a dtype parameter)
    INERT = "inert"  # never built: read as an inert placeholder (registry.intake.inert)


@dataclass(frozen=True)
class Entry:
    """One allowed global: its use and where to find the real object."""

    use: Use
    target: str  # "module:attribute" of the object actually returned; resolved lazily


ESTIMATORS = {
    ("sklearn.linear_model._base", "LinearRegression"),
    ("sklearn.linear_model._ridge", "Ridge"),
    ("sklearn.linear_model._coordinate_descent", "Lasso"),
    ("sklearn.linear_model._coordinate_descent", "ElasticNet"),
    ("sklearn.linear_model._logistic", "LogisticRegression"),
    ("sklearn.linear_model._logistic", "LogisticRegressionCV"),
    ("sklearn.linear_model._ridge", "RidgeCV"),
    ("sklearn.linear_model._coordinate_descent", "LassoCV"),
    ("sklearn.linear_model._coordinate_descent", "ElasticNetCV"),
    ("sklearn.linear_model._least_angle", "Lars"),
    ("sklearn.linear_model._least_angle", "LassoLars"),
    ("sklearn.linear_model._least_angle", "LarsCV"),
    ("sklearn.linear_model._least_angle", "LassoLarsCV"),
    ("sklearn.linear_model._omp", "OrthogonalMatchingPursuit"),
    ("sklearn.linear_model._huber", "HuberRegressor"),
    ("sklearn.linear_model._quantile", "QuantileRegressor"),
    ("sklearn.linear_model._bayes", "BayesianRidge"),
    ("sklearn.linear_model._bayes", "ARDRegression"),
    ("sklearn.linear_model._stochastic_gradient", "SGDRegressor"),
    ("sklearn.linear_model._stochastic_gradient", "SGDClassifier"),
    ("sklearn.linear_model._glm.glm", "PoissonRegressor"),
    ("sklearn.linear_model._glm.glm", "GammaRegressor"),
    ("sklearn.linear_model._glm.glm", "TweedieRegressor"),
    ("sklearn.compose._target", "TransformedTargetRegressor"),
    ("sklearn.model_selection._search", "GridSearchCV"),
    ("sklearn.model_selection._search", "RandomizedSearchCV"),
    ("sklearn.pipeline", "Pipeline"),
    ("sklearn.compose._column_transformer", "ColumnTransformer"),
    # Kept unfitted in ColumnTransformer.transformers; the fitted column lists are what is read.
    ("sklearn.compose._column_transformer", "make_column_selector"),
    ("sklearn.preprocessing._data", "StandardScaler"),
    ("sklearn.preprocessing._data", "MinMaxScaler"),
    ("sklearn.preprocessing._data", "MaxAbsScaler"),
    ("sklearn.preprocessing._data", "RobustScaler"),
    ("sklearn.preprocessing._encoders", "OneHotEncoder"),
    ("sklearn.impute._base", "SimpleImputer"),
    ("sklearn.impute._base", "MissingIndicator"),
    ("sklearn.preprocessing._data", "Binarizer"),
    ("sklearn.preprocessing._encoders", "OrdinalEncoder"),
    ("sklearn.preprocessing._target_encoder", "TargetEncoder"),
    ("sklearn.preprocessing._discretization", "KBinsDiscretizer"),
    ("sklearn.preprocessing._data", "PowerTransformer"),
    ("sklearn.preprocessing._polynomial", "PolynomialFeatures"),
    ("sklearn.preprocessing._polynomial", "SplineTransformer"),
    ("sklearn.preprocessing._data", "Normalizer"),
    # SplineTransformer keeps one fitted basis per input; only its knots and degree are read.
    ("scipy.interpolate._bsplines", "BSpline"),
    ("sklearn.preprocessing._data", "QuantileTransformer"),
    ("sklearn.feature_selection._variance_threshold", "VarianceThreshold"),
    ("sklearn.feature_selection._univariate_selection", "SelectKBest"),
    ("sklearn.feature_selection._univariate_selection", "SelectPercentile"),
    ("sklearn.feature_selection._from_model", "SelectFromModel"),
    # A fitted ColumnTransformer stores its 'passthrough' columns as an identity
    # FunctionTransformer; extraction accepts one only with an allow-listed numpy function.
    ("sklearn.preprocessing._function_transformer", "FunctionTransformer"),
}

# numpy 1 pickles name numpy.core.*, numpy 2 pickles name numpy._core.*; both mean one object.
_NUMPY_CALLABLES = {
    ("multiarray", "_reconstruct"): "numpy._core.multiarray:_reconstruct",
    ("multiarray", "scalar"): "numpy._core.multiarray:scalar",
    ("numeric", "_frombuffer"): "numpy._core.numeric:_frombuffer",
}

_UFUNC_MODULES = ("numpy", "numpy.core._multiarray_umath", "numpy._core._multiarray_umath")

_VALUE_TYPES = (
    "ndarray float64 float32 float16 int64 int32 int16 int8 uint64 uint32 uint16 uint8 bool_"
    # the abstract types a make_column_selector may name as dtype_include or dtype_exclude
    " number floating integer signedinteger unsignedinteger object_ str_ datetime64"
).split()


# Score functions a fitted SelectKBest or SelectPercentile keeps: stored, never called.
_SCORE_FUNCTIONS = {
    ("sklearn.feature_selection._univariate_selection", name)
    for name in ("f_regression", "f_classif", "r_regression", "chi2")
} | {
    ("sklearn.feature_selection._mutual_info", name)
    for name in ("mutual_info_regression", "mutual_info_classif")
}


# The numpy functions a FunctionTransformer may hold; a ufunc pickles as the global numpy.NAME.
FUNCTIONS = ("log", "log1p", "exp", "expm1", "sqrt", "square", "absolute")


def _build() -> dict[tuple[str, str], Entry]:
    table: dict[tuple[str, str], Entry] = {}
    for name in FUNCTIONS:
        table["numpy", name] = Entry(Use.VALUE, f"numpy:{name}")
    for module, name in _SCORE_FUNCTIONS:
        table[module, name] = Entry(Use.VALUE, f"{module}:{name}")
    for module, name in ESTIMATORS:
        table[module, name] = Entry(Use.ESTIMATOR, f"{module}:{name}")
    # Helper classes of older releases, built as plain stand-ins with the same checked BUILD.
    for (module, name), target in STAND_INS.items():
        table[module, name] = Entry(Use.ESTIMATOR, target)
    for module, name in INERT:
        table[module, name] = Entry(Use.INERT, "")
    table["joblib.numpy_pickle", "NumpyArrayWrapper"] = Entry(Use.ARRAY_WRAPPER, "")
    for (submodule, name), target in _NUMPY_CALLABLES.items():
        for package in ("numpy.core", "numpy._core"):
            table[f"{package}.{submodule}", name] = Entry(Use.CALLABLE, target)
    table["numpy", "dtype"] = Entry(Use.CALLABLE, "numpy:dtype")
    # A scipy BSpline keeps the asarray it converts with: stored, never called by intake.
    asarray = ("scipy._lib.array_api_compat.numpy._aliases", "asarray")
    table[asarray] = Entry(Use.VALUE, ":".join(asarray))
    # numpy 1 pickles a ufunc under the module that defines it.
    for module in _UFUNC_MODULES[1:]:
        for name in FUNCTIONS:
            table[module, name] = Entry(Use.VALUE, f"numpy:{name}")
    # Protocol 2 pickles spell bytes as _codecs.encode(text, 'latin1') and builtins as
    # __builtin__.
    table["_codecs", "encode"] = Entry(Use.CALLABLE, "_codecs:encode")
    for builtins in ("builtins", "__builtin__"):
        table[builtins, "slice"] = Entry(Use.CALLABLE, "builtins:slice")
        for name in ("float", "int", "bool", "str", "object"):
            table[builtins, name] = Entry(Use.VALUE, f"builtins:{name}")
    for name in _VALUE_TYPES:
        table["numpy", name] = Entry(Use.VALUE, f"numpy:{name}")
    return table


ALLOWED: dict[tuple[str, str], Entry] = _build()

# skops names types "module.Name"; these are its own containers, which it builds itself.
SKOPS_CONTAINERS = frozenset(
    f"builtins.{name}"
    for name in ("dict", "list", "tuple", "str", "int", "float", "bool", "NoneType", "slice")
)
SKOPS_TRUSTED = tuple(
    sorted(
        {f"{m}.{n}" for (m, n), e in ALLOWED.items() if e.use in (Use.ESTIMATOR, Use.VALUE)}
        | {f"{m}.{n}" for m, n in SKOPS_INERT}
        | {"numpy.dtype"}
    )
)

SUPPORTED_MODELS = (
    "LinearRegression",
    "Ridge",
    "RidgeCV",
    "Lasso",
    "LassoCV",
    "ElasticNet",
    "ElasticNetCV",
    "Lars",
    "LarsCV",
    "LassoLars",
    "LassoLarsCV",
    "OrthogonalMatchingPursuit",
    "HuberRegressor",
    "QuantileRegressor",
    "BayesianRidge",
    "ARDRegression",
    "SGDRegressor",
    "PoissonRegressor",
    "GammaRegressor",
    "TweedieRegressor",
    "TransformedTargetRegressor",
    "GridSearchCV",
    "RandomizedSearchCV",
    "LogisticRegressionCV",
    "SGDClassifier(loss='log_loss')",
    "LogisticRegression",
)
SUPPORTED_STEPS = (
    "StandardScaler",
    "MinMaxScaler",
    "MaxAbsScaler",
    "RobustScaler",
    "SimpleImputer",
    "MissingIndicator",
    "OneHotEncoder",
    "OrdinalEncoder",
    "TargetEncoder",
    "KBinsDiscretizer",
    "PowerTransformer",
    "QuantileTransformer",
    "PolynomialFeatures",
    "SplineTransformer",
    "Normalizer",
    "Binarizer",
    "FunctionTransformer",
    "VarianceThreshold",
    "SelectKBest",
    "SelectPercentile",
    "SelectFromModel",
    "ColumnTransformer",
    "Pipeline",
)
LEGACY_WRAPPERS = {"NDArrayWrapper", "ZNDArrayWrapper"}

_PRINTABLE = re.compile(r"[A-Za-z0-9_.]{1,120}")


# Class attributes an estimator's own __init__ sets again per instance (Lars.positive = False,
# which LassoLars' instances hold): plain values, so shadowing them changes no behaviour.
_PLAIN = (bool, int, float, str, type(None))


def hides_class_behaviour(cls: type, key: str) -> bool:
    """Tell whether an instance attribute named ``key`` would hide a method or descriptor of cls.

    A saved model's state never does that; a file that tries is refused as untrusted.
    """
    if not hasattr(cls, key):
        return False
    return not isinstance(inspect.getattr_static(cls, key), _PLAIN)


def supported_sentence() -> str:
    """Return the clause listing what intake accepts."""
    models, steps = SUPPORTED_MODELS, SUPPORTED_STEPS[:-1]
    return (
        f"supported models are {', '.join(models[:-1])} and {models[-1]}, alone or at the end of "
        f"a Pipeline whose steps are {', '.join(steps[:-1])} or {steps[-1]}"
    )


def function_sentence() -> str:
    """Return the clause listing the functions a FunctionTransformer may hold."""
    names = [f"numpy.{n}" for n in ("log", "log1p", "exp", "expm1", "sqrt", "square", "abs")]
    return f"supported functions are {', '.join(names[:-1])} and {names[-1]}, without kw_args"


def refused_function(module: str, name: str) -> str | None:
    """Return the refusal for a numpy ufunc outside FUNCTIONS, None for any other name.

    A ufunc is pickled by name and computes nothing when read: naming one is not an attempt at
    anything, so it is unsupported rather than untrusted.
    """
    if module not in _UFUNC_MODULES or not name.isidentifier() or name.startswith("_"):
        return None
    import numpy

    if not isinstance(getattr(numpy, name, None), numpy.ufunc):
        return None
    return f"The function numpy.{printable(name)} is not supported; {function_sentence()}."


def unsupported_message(name: str) -> str:
    """Return the refusal for a step that is not supported, naming it."""
    return f"{printable(name)} is not supported; {supported_sentence()}."


def printable(text: str) -> str:
    """Return a name from the file fit to quote in a message, or a neutral stand-in."""
    return text if _PRINTABLE.fullmatch(text) else "an unexpected name"


def resolve(entry: Entry) -> Any:
    """Return the object an allowed entry stands for (imports only fixed, known modules)."""
    import importlib

    module, _, attribute = entry.target.partition(":")
    return getattr(importlib.import_module(module), attribute)
