"""An example Django Automate connector (see README.md): ``example_crm``."""

from .connector import ExampleCRMConnector, signature_headers

__all__ = ["ExampleCRMConnector", "signature_headers"]
