"""Old public names kept for one release, with a ``DeprecationWarning``.

Used by the subpackages that renamed a public function (``geometry``:
``sliced_wasserstein`` → ``sliced_transport``; ``torch``: ``h0_diagram`` →
``finite_h0_diagram``, ``h1_births`` → ``sparsified_h1_births``): their module
``__getattr__`` is made here, so every renamed name warns the same way and goes
away in the same release, :data:`REMOVED_IN`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["REMOVED_IN", "renamed_attributes"]

#: the release that removes every name deprecated so far
REMOVED_IN = "0.3"


def renamed_attributes(
    module: str, namespace: Mapping[str, Any], renamed: Mapping[str, tuple[str, str]]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` that serves renamed attributes under their old names.

    Parameters
    ----------
    module : str
        The module's ``__name__`` (shown in the warning and the AttributeError).
    namespace : mapping
        The module's ``globals()``, read when an old name is looked up.
    renamed : mapping of str to (str, str)
        ``old -> (new, why)``: the new name in ``namespace`` and a short reason
        shown in the warning (e.g. what the old name clashed with).

    Returns
    -------
    __getattr__ : callable (str) -> object
        Returns ``namespace[new]`` for an old name, with a ``DeprecationWarning``
        pointing at the caller's line; raises ``AttributeError`` otherwise.

    Examples
    --------
    >>> import warnings
    >>> from sheaftopo._core.deprecation import renamed_attributes
    >>> get = renamed_attributes("m", {"new": 1}, {"old": ("new", "a clearer name")})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     get("old")
    1
    >>> print(caught[0].message)
    m.old is renamed new (a clearer name); the old name will be removed in sheaftopo 0.3
    """

    def __getattr__(name: str) -> Any:
        if name in renamed:
            new, why = renamed[name]
            warnings.warn(
                f"{module}.{name} is renamed {new} ({why}); the old name will be removed in "
                f"sheaftopo {REMOVED_IN}",
                DeprecationWarning,
                stacklevel=2,
            )
            return namespace[new]
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
