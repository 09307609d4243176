"""Objects a model file may name that intake never uses: read as inert placeholders.

A fitted GLM keeps its loss object, a fitted search keeps its scorer, splitter, parameter
distributions and masked cv_results_ columns. None of them is needed to serve the model, and
building them would run their classes' code on the file's data. The unpickler builds an
``Inert`` instead: it records the name the file gave and the state it was handed (already read
through the allow-list), and nothing ever calls it.
"""

from __future__ import annotations

from typing import Any


class InertName:
    """An inert global as the unpickler holds it: calling or instantiating it makes an Inert."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class InertAttribute:
    """``getattr`` as a placeholder reads it: only on an Inert, giving another Inert.

    scipy's discrete distributions pickle bound methods as getattr(distribution, name). The
    real getattr is never looked up; any other receiver is refused by the unpickler.
    """

    __slots__ = ()


INERT_ATTRIBUTE = frozenset({("builtins", "getattr"), ("__builtin__", "getattr")})


class Inert:
    """A placeholder for an object intake does not use; ``name`` is "module.Name"."""

    __slots__ = ("name", "state")

    def __init__(self, name: str) -> None:
        self.name = name
        self.state: Any = None

    def __repr__(self) -> str:
        return f"Inert({self.name})"


def inert_name(value: Any) -> str | None:
    """Return the class name of an inert placeholder ("LogLink"), None for anything else."""
    if type(value) is Inert:
        return value.name.rpartition(".")[2]
    return None


def _names(module: str, names: str) -> set[tuple[str, str]]:
    return {(module, name) for name in names.split()}


# A GLM's loss: its Python class, its Cython part (and that part's pickle helper), its link.
_LOSSES = "HalfPoissonLoss HalfGammaLoss HalfTweedieLoss HalfTweedieLossIdentity".split()
GLM_LOSS = (
    _names("sklearn._loss.loss", " ".join(_LOSSES))
    | _names("sklearn._loss._loss", " ".join(f"Cy{n}" for n in _LOSSES))
    | _names("sklearn._loss._loss", " ".join(f"__pyx_unpickle_Cy{n}" for n in _LOSSES))
    # Some releases' Cython (1.5) names the module without its package.
    | _names("_loss", " ".join(f"Cy{n}" for n in _LOSSES))
    | _names("_loss", " ".join(f"__pyx_unpickle_Cy{n}" for n in _LOSSES))
    | _names("sklearn._loss.link", "LogLink IdentityLink Interval")
)

# An SGD model's loss object (loss_function_): kept by the file, never used to predict. Up to 1.5
# every loss is a _sgd_fast class; from 1.6 log_loss is the Cython binomial loss, whose module
# some releases name without its package.
_SGD_FAST = (
    "Log Hinge ModifiedHuber SquaredHinge Huber SquaredLoss EpsilonInsensitive "
    "SquaredEpsilonInsensitive Classification Regression LossFunction"
)
SGD_LOSS = (
    _names("sklearn.linear_model._sgd_fast", _SGD_FAST)
    | _names("sklearn._loss._loss", "CyHalfBinomialLoss __pyx_unpickle_CyHalfBinomialLoss")
    | _names("_loss", "CyHalfBinomialLoss __pyx_unpickle_CyHalfBinomialLoss")
)

# What a fitted GridSearchCV or RandomizedSearchCV keeps besides its best estimator.
_METRICS = {
    "sklearn.metrics._regression": (
        "r2_score mean_absolute_error mean_squared_error root_mean_squared_error "
        "mean_squared_log_error root_mean_squared_log_error median_absolute_error "
        "mean_absolute_percentage_error explained_variance_score max_error "
        "mean_poisson_deviance mean_gamma_deviance mean_tweedie_deviance d2_absolute_error_score"
    ),
    "sklearn.metrics._classification": (
        "accuracy_score balanced_accuracy_score brier_score_loss d2_brier_score "
        "d2_log_loss_score f1_score fbeta_score jaccard_score log_loss matthews_corrcoef "
        "precision_score recall_score"
    ),
    "sklearn.metrics._ranking": "average_precision_score roc_auc_score top_k_accuracy_score",
    "sklearn.metrics._scorer": (
        "_passthrough_scorer _PassthroughScorer _Scorer _PredictScorer _ProbaScorer "
        "_ThresholdScorer _MultimetricScorer negative_likelihood_ratio positive_likelihood_ratio"
    ),
}
SEARCH_PARTS = (
    {pair for module, names in _METRICS.items() for pair in _names(module, names)}
    # A scorer's metadata routing requests (1.4 to 1.6).
    | _names(
        "sklearn.utils._metadata_requests",
        "MetadataRequest MethodMetadataRequest MetadataRouter MethodMapping MethodPair "
        "RouterMappingPair",
    )
    | _names(
        "sklearn.model_selection._split",
        "KFold StratifiedKFold GroupKFold StratifiedGroupKFold ShuffleSplit "
        "StratifiedShuffleSplit GroupShuffleSplit RepeatedKFold RepeatedStratifiedKFold "
        "TimeSeriesSplit LeaveOneOut LeavePOut LeaveOneGroupOut LeavePGroupsOut PredefinedSplit "
        "_CVIterableWrapper",
    )
    # cv_results_'s param_* columns are masked arrays (numpy 1 and 2 spell them differently).
    | _names("numpy.ma.core", "MaskedArray _mareconstruct")
    | _names("numpy.ma", "MaskedArray")
)
# RandomizedSearchCV's distributions and random state: pickles only (skops is not given them).
SEARCH_SAMPLING = (
    _names(
        "scipy.stats._distn_infrastructure",
        "rv_continuous_frozen rv_discrete_frozen rv_frozen",
    )
    | _names(
        "scipy.stats._continuous_distns",
        "uniform_gen reciprocal_gen loguniform_gen expon_gen norm_gen lognorm_gen "
        "halfnorm_gen beta_gen gamma_gen truncnorm_gen",
    )
    | _names("scipy.stats._discrete_distns", "randint_gen poisson_gen geom_gen")
    | _names(
        "numpy.random._pickle",
        "__randomstate_ctor __bit_generator_ctor __generator_ctor",
    )
    | _names("numpy.random._mt19937", "MT19937")
    | _names("numpy.random._pcg64", "PCG64 PCG64DXSM")
    | _names("numpy.random._philox", "Philox")
    | _names("numpy.random._sfc64", "SFC64")
    | _names("numpy.random.bit_generator", "SeedSequence __pyx_unpickle_SeedSequence")
    | _names("numpy.random.mtrand", "RandomState")
    | _names("numpy.random._generator", "Generator")
    | _names("numpy", "vectorize")
    | _names("numpy.lib.function_base", "vectorize")
    | _names("numpy.lib._function_base_impl", "vectorize")
)
INERT = GLM_LOSS | SGD_LOSS | SEARCH_PARTS | SEARCH_SAMPLING
# skops builds these itself, as objects of its own node types; its sampling objects are refused.
# An SGD loss in a skops file is never loaded at all (skops_loader reads it as null).
SKOPS_INERT = GLM_LOSS | SEARCH_PARTS
