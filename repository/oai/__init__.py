"""The OAI-PMH 2.0 provider's pure half: arguments, errors, tokens, sets and XML.

Nothing here does I/O (no Flask, no database, no clock unless passed in), so
every rule of the protocol is a function over values that tests call
directly; repository/views/oai.py does the HTTP and repository/publication.py
the queries. tests/oai/test_purity.py enforces the rule.
"""

from __future__ import annotations

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
VERBS = ("Identify", "ListMetadataFormats", "ListSets", "GetRecord", "ListIdentifiers", "ListRecords")
