"""The provider protocol over HTTP (``schemas/provider.openapi.yaml``): the wire format, the
``http`` provider (a client of any bridge) and the conformance kit. The served sandbox
(``reconciler.sandbox.serve``) is the reference implementation of the other side."""
