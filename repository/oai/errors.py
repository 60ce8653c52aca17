"""The OAI-PMH error conditions, one registry keyed by the spec's codes.

A code is data, never a class name built at run time (the trap Sickle fell
into): rendering looks the code up here, and an unknown code is a bug that
raises at once instead of becoming a generic error.
"""

from __future__ import annotations

ERRORS: dict[str, str] = {
    "badArgument": "The request includes illegal arguments, is missing required arguments, "
                   "includes a repeated argument, or values for arguments have an illegal syntax.",
    "badResumptionToken": "The value of the resumptionToken argument is invalid or expired.",
    "badVerb": "Value of the verb argument is not a legal OAI-PMH verb, the verb argument is missing, "
               "or the verb argument is repeated.",
    "cannotDisseminateFormat": "The metadata format identified by the value given for the metadataPrefix "
                               "argument is not supported by the item or by the repository.",
    "idDoesNotExist": "The value of the identifier argument is unknown or illegal in this repository.",
    "noRecordsMatch": "The combination of the values of the from, until, set and metadataPrefix arguments "
                      "results in an empty list.",
    "noMetadataFormats": "There are no metadata formats available for the specified item.",
    "noSetHierarchy": "The repository does not support sets.",
}

# Errors after which <request> must carry the base URL only (spec 3.2, "request").
NO_ECHO = frozenset({"badVerb", "badArgument"})


class OaiError(Exception):
    """One OAI-PMH error condition; ``code`` is a key of ERRORS, ``message`` says what exactly."""

    def __init__(self, code: str, message: str = "") -> None:
        if code not in ERRORS:
            raise KeyError(f"not an OAI-PMH error code: {code!r}")
        super().__init__(f"{code}: {message or ERRORS[code]}")
        self.code = code
        self.message = message or ERRORS[code]
