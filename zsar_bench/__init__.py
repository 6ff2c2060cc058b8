"""zsar-bench: a benchmark harness for zero-shot action recognition."""
__version__ = "0.1.0"

from .method import FitContext, Method, register_method  # noqa: E402,F401
from .types import ClassInfo, ConceptVocabulary, FitData, LabelledVideos, Videos  # noqa: E402,F401
