"""The public surface: __all__ matches what the package exports."""

from __future__ import annotations

import fetchpool


def test_all_names_exist_and_public_names_are_listed() -> None:
    for name in fetchpool.__all__:
        assert hasattr(fetchpool, name), name
    public = {
        n
        for n, v in vars(fetchpool).items()
        if not n.startswith("_") and not isinstance(v, type(fetchpool))
    }
    assert public <= set(fetchpool.__all__), public - set(fetchpool.__all__)
