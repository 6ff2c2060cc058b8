"""Feature sets keyed by (dataset, feature set) under one data root."""
from .store import FeatureSet, FeatureStoreError, list_feature_sets, load_feature_set  # noqa: F401
