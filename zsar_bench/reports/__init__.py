"""Leaderboards from records: ``tables`` (the summary over folds, significance marks, Markdown tables),
``write`` (every format into a reports folder), ``html`` (static site with plots), ``latex`` (booktabs)."""
from .tables import (METRICS, PUBLISHED, inputs_label, primary_metric, records_frame, render_fewshot_tables,  # noqa: F401
                     render_table, summarise)
from .write import write_reports  # noqa: F401
