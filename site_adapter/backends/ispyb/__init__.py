"""The ISPyB backend: a read-only site-adapter Backend over a facility's ISPyB on MariaDB."""

from site_adapter.backends.ispyb.backend import IspybBackend

__all__ = ["IspybBackend"]
