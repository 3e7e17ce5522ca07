"""Methods: ClipClap and the baselines of the paper's Table 1, behind one interface (docs/methods.md)."""
from avgzsl.methods.base import Batch, Method, MethodError, NetConfig
from avgzsl.methods.registry import DEFAULT_METHOD, get_method, known

__all__ = ["Batch", "Method", "MethodError", "NetConfig", "DEFAULT_METHOD", "get_method", "known"]
