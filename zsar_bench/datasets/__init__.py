"""Dataset catalogue: every dataset declared by a spec file (``spec.py``; class tables, descriptions, default
protocol, split files, synthetic world, published references), registered by name (``catalog.py``)."""
from .catalog import (DATASETS, ENV_DATASETS, Dataset, add_dataset_folder, dataset_names,  # noqa: F401
                      default_protocols, get_dataset, load_class_table, pretrain_pool)
from .spec import DatasetSpec, DatasetSpecError  # noqa: F401
