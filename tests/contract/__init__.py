"""One contract suite over every implementation (issue 14, item 2): the same assertions on a native site, an
ISPyB site and the hub over three sites. To run it on a new backend, add a `contract_<name>` fixture in
tests/fixtures/contract.py (an Implementation: endpoint, callers' credentials, facts read by SQL) and its
name to IMPLEMENTATIONS."""
