"""Automatic quality checks on stored records (issue #5, curators' quality review).

Each check is a small named function over one Record (plus the batch context it
needs); its outcome (pass, warn, fail) and short coded findings are stored in
``record_checks`` and drive the review queue's priority and flags. A record is
checked again only when its content hash (or, for context checks, its key)
changed. See docs/curators.md, "Automatic checks".

- ``base``: Finding, Result, Check and the batch Context.
- ``registry``: the named checks, in display order.
- ``runner``: which records to check, running the checks, batched upserts.
- ``results``: reading stored results back for the pages.
- one module per check: ``required``, ``vocabulary``, ``title``, ``sensitive``,
  ``technical``, ``duplicate``, ``links`` (the only one that goes on the network).
"""
