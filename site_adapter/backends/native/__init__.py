"""The native PostgreSQL store: for sites without ISPyB, and for the demo."""

from site_adapter.backends.native.backend import NativeBackend

__all__ = ["NativeBackend"]
