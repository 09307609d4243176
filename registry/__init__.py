"""A model registry and prediction service for scikit-learn linear and logistic models."""

__version__ = "0.1.0"
