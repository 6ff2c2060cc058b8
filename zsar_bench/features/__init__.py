"""Feature sets keyed by (dataset, feature set) under one data root.

``base`` holds the types every back end shares; ``store`` loads a set by name (``synthetic`` from
``synthetic.py``, anything else from ``arrow_store.py``); ``importers`` and ``extract`` write sets."""
from .base import FeatureSet, FeatureStoreError  # noqa: F401
from .store import list_feature_sets, load_feature_set  # noqa: F401
