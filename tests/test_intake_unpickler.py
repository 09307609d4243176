"""The allow-list unpickler on honest files: every joblib compression, pickle protocols, arrays."""

from __future__ import annotations

import io
import pickle

import joblib
import numpy as np
import pytest
import skops.io
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from registry.errors import InvalidArtifact, UnsupportedEstimator, UntrustedArtifact
from registry.intake.allowlist import ALLOWED, SKOPS_TRUSTED, Use
from registry.intake.skops_loader import load_skops
from registry.intake.unpickler import load_pickle

MAX_BYTES = 64 << 20


def _joblib(obj: object, compress: object = 0) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(obj, buffer, compress=compress)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def iris_model():
    X, y = load_iris(return_X_y=True)
    model = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression()).fit(X, y)
    return model, X


@pytest.mark.parametrize("compress", [0, 3, "zlib", "gzip", "bz2", "xz", "lzma"])
def test_joblib_files_load_with_every_compression(iris_model, compress):
    model, X = iris_model
    loaded = load_pickle(_joblib(model, compress), max_bytes=MAX_BYTES)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_plain_pickle_files_load_with_every_protocol(iris_model, protocol):
    model, X = iris_model
    loaded = load_pickle(pickle.dumps(model, protocol=protocol), max_bytes=MAX_BYTES)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12.0).reshape(3, 4),
        np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        np.arange(5, dtype=">f8"),
        np.array(["a", "bc"]),
        np.array(["a", 1, None, 2.5, True], dtype=object),
        np.zeros((0, 3)),
        np.array([True, False]),
    ],
    ids=["c-order", "f-order", "big-endian", "unicode", "objects", "empty", "bool"],
)
def test_arrays_read_as_joblib_writes_them(array):
    wrapped = [np.float64(1.5), array, array]  # arrays after others test the alignment padding
    loaded = load_pickle(_joblib(wrapped), max_bytes=MAX_BYTES)
    np.testing.assert_array_equal(loaded[1], array)
    assert loaded[1].dtype == array.dtype.newbyteorder("=")
    assert loaded[0] == 1.5


def test_numpy_1_module_names_are_accepted():
    data = pickle.dumps(np.arange(3.0), protocol=2)
    assert b"numpy._core.multiarray" in data
    old = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    np.testing.assert_array_equal(load_pickle(old, max_bytes=MAX_BYTES), np.arange(3.0))


def test_allow_list_is_exact_pairs():
    estimators = {name for (_, name), e in ALLOWED.items() if e.use is Use.ESTIMATOR}
    assert "LogisticRegression" in estimators and "RandomForestRegressor" not in estimators
    assert all("." not in name for _, name in ALLOWED)
    assert "sklearn.linear_model._base.LinearRegression" in SKOPS_TRUSTED


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\x01" + np.random.default_rng(0).bytes(64), "not a readable"),
        (b"\x80\x04not a pickle at all", "not a readable"),
        (b"x\x9c" + b"\x00" * 20, "cannot be decompressed"),
        (b"\x04\x22\x4d\x18rest", "lz4"),
        (b"PK\x03\x04rest", "skops"),
    ],
    ids=["empty", "random", "garbage", "bad-zlib", "lz4", "zip"],
)
def test_unreadable_files_are_invalid(data, message):
    with pytest.raises(InvalidArtifact, match=message):
        load_pickle(data, max_bytes=MAX_BYTES)


@pytest.mark.parametrize("compress", [0, 3])
def test_truncated_files_are_invalid(iris_model, compress):
    data = _joblib(iris_model[0], compress)
    for cut in (len(data) // 3, len(data) - 1):
        with pytest.raises(InvalidArtifact):
            load_pickle(data[:cut], max_bytes=MAX_BYTES)


def test_trailing_data_is_invalid(iris_model):
    with pytest.raises(InvalidArtifact, match="after the end"):
        load_pickle(_joblib(iris_model[0]) + b"extra", max_bytes=MAX_BYTES)


def test_unknown_sklearn_class_is_unsupported_and_named():
    model = RandomForestRegressor(n_estimators=2).fit([[0.0], [1.0]], [0.0, 1.0])
    with pytest.raises(UnsupportedEstimator, match="RandomForestRegressor is not supported"):
        load_pickle(_joblib(model), max_bytes=MAX_BYTES)


def test_supported_class_at_an_old_location_is_invalid():
    data = pickle.dumps(LinearRegression(), protocol=2)
    moved = data.replace(b"sklearn.linear_model._base", b"sklearn.linear_model.base")
    with pytest.raises(InvalidArtifact, match="save the model again"):
        load_pickle(moved, max_bytes=MAX_BYTES)


def test_persistent_ids_are_refused():
    class Persisting(pickle.Pickler):
        def persistent_id(self, obj):
            return "outside" if obj == "x" else None

    buffer = io.BytesIO()
    Persisting(buffer, protocol=4).dump(["x"])
    with pytest.raises(UntrustedArtifact, match="persistent"):
        load_pickle(buffer.getvalue(), max_bytes=MAX_BYTES)


def test_skops_files_load_with_the_same_allow_list():
    X = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 0.0], [4.0, 1.0]])
    prep = ColumnTransformer([("s", StandardScaler(), [0]), ("c", OneHotEncoder(), [1])])
    model = make_pipeline(prep, LogisticRegression()).fit(X, [0, 0, 1, 1])
    loaded = load_skops(skops.io.dumps(model), max_bytes=MAX_BYTES)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_skops_unsupported_estimator_is_named():
    model = RandomForestRegressor(n_estimators=2).fit([[0.0], [1.0]], [0.0, 1.0])
    with pytest.raises(UnsupportedEstimator, match="RandomForestRegressor"):
        load_skops(skops.io.dumps(model), max_bytes=MAX_BYTES)


def test_instance_values_of_plain_class_attributes_load():
    # LassoLars' instances hold `positive`, which Lars also has as a class attribute (False).
    from sklearn.linear_model import LassoLars, SGDClassifier

    X, y = load_iris(return_X_y=True)
    lars = LassoLars(alpha=0.01).fit(X, y)
    sgd = SGDClassifier(loss="log_loss", random_state=0).fit(X, y)  # keeps its loss object
    for model in (lars, sgd):
        for loaded in (
            load_pickle(_joblib(model), max_bytes=MAX_BYTES),
            load_skops(skops.io.dumps(model), max_bytes=MAX_BYTES),
        ):
            assert type(loaded) is type(model)
            assert np.array_equal(loaded.coef_, model.coef_)
