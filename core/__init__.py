"""What every layer shares and nothing else: the exception family (``core.errors``)."""
