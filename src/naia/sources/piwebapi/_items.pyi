"""Type stub of the C module ``_items.c`` (see its header for the contract)."""

def decode(
    items: object, /
) -> (
    tuple[int, bytes, bytes, bytes, bytes, bytes, bytes, bool, tuple[bytes, bytes, bytes] | None]
    | None
): ...
