"""Errors of the schemas layer. Each carries a one-line reason that ends up
in a quarantine entry or an import report."""


class CrosswalkError(ValueError):
    """A payload or record that cannot be mapped; `reason` is one line."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason.splitlines()[0] if reason else "unknown error"
