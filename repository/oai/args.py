"""Which arguments each verb takes, and turning a request's arguments into an OaiRequest.

Input is every value of every argument (``{name: [values…]}``) so repeated
arguments are seen; output is a validated OaiRequest or an OaiError with the
spec's code. Checks that need the repository (known formats, identifiers,
tokens) happen later, in the view.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from repository.oai import VERBS
from repository.oai.dates import parse_bound, until_exclusive
from repository.oai.errors import OaiError

# verb -> (required, optional); resumptionToken is exclusive where allowed
_ARGUMENTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "Identify": (frozenset(), frozenset()),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"})),
    "ListSets": (frozenset(), frozenset()),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset()),
    "ListIdentifiers": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"})),
    "ListRecords": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"})),
}
RESUMABLE = frozenset({"ListSets", "ListIdentifiers", "ListRecords"})

# The OAI-PMH.xsd patterns: a value that breaks them could not be echoed in <request>.
SPEC_PATTERN = re.compile(r"[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*")
PREFIX_PATTERN = re.compile(r"[A-Za-z0-9\-_.!~*'()]+")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class OaiRequest:
    """A syntactically valid request. ``from_``/``until`` form the half-open [from_, until)."""

    verb: str
    arguments: dict[str, str] = field(default_factory=dict)  # echoed in <request>
    identifier: str | None = None
    metadata_prefix: str | None = None
    set_spec: str | None = None
    from_: datetime | None = None
    until: datetime | None = None
    resumption_token: str | None = None


def parse_request(args: Mapping[str, Sequence[str]]) -> OaiRequest:
    """Validate arguments against the verb's rules; raises OaiError (badVerb or badArgument)."""
    verbs = list(args.get("verb", ()))
    if not verbs:
        raise OaiError("badVerb", "the verb argument is missing")
    if len(verbs) > 1:
        raise OaiError("badVerb", "the verb argument is repeated")
    verb = verbs[0]
    if verb not in VERBS:
        raise OaiError("badVerb", f"{verb!r} is not an OAI-PMH verb")
    repeated = sorted(name for name, values in args.items() if len(values) > 1)
    if repeated:
        raise OaiError("badArgument", f"repeated argument(s): {', '.join(repeated)}")
    given = {name: values[0] for name, values in args.items() if name != "verb" and values}
    required, optional = _ARGUMENTS[verb]
    allowed = required | optional | ({"resumptionToken"} if verb in RESUMABLE else set())
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise OaiError("badArgument", f"{verb} does not take: {', '.join(unknown)}")
    empty = sorted(name for name, value in given.items() if not value)
    if empty:
        raise OaiError("badArgument", f"empty argument(s): {', '.join(empty)}")
    if "resumptionToken" in given:
        if len(given) > 1:
            raise OaiError("badArgument", "resumptionToken is an exclusive argument")
        return OaiRequest(verb, {"verb": verb, **given}, resumption_token=given["resumptionToken"])
    missing = sorted(required - set(given))
    if missing:
        raise OaiError("badArgument", f"{verb} requires: {', '.join(missing)}")
    return _typed(verb, given)


def _typed(verb: str, given: dict[str, str]) -> OaiRequest:
    prefix, set_spec, identifier = given.get("metadataPrefix"), given.get("set"), given.get("identifier")
    if prefix is not None and not PREFIX_PATTERN.fullmatch(prefix):
        raise OaiError("badArgument", f"metadataPrefix={prefix!r} has characters a prefix cannot have")
    if set_spec is not None and not SPEC_PATTERN.fullmatch(set_spec):
        raise OaiError("badArgument", f"set={set_spec!r} is not a setSpec")
    if identifier is not None and not _URI.fullmatch(identifier):
        raise OaiError("badArgument", f"identifier={identifier!r} is not a URI")
    start = end = None
    if "from" in given:
        start, from_granularity = parse_bound("from", given["from"])
    if "until" in given:
        until_start, until_granularity = parse_bound("until", given["until"])
        end = until_exclusive(until_start, until_granularity)
    if start is not None and end is not None:
        if from_granularity != until_granularity:
            raise OaiError("badArgument", "from and until must have the same granularity")
        if start >= end:
            raise OaiError("badArgument", "from is later than until")
    return OaiRequest(verb, {"verb": verb, **given}, identifier=identifier, metadata_prefix=prefix,
                      set_spec=set_spec, from_=start, until=end)
