"""Dataset catalogue: class lists (official identifiers + readable names) and descriptions."""
from .catalog import DATASETS, Dataset, dataset_names, default_protocols, get_dataset, load_class_table  # noqa: F401
