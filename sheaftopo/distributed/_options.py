"""The one ``options=`` argument of the Dask entry points, and the keywords it replaces.

In sheaftopo 0.1 every entry point took ``client``, ``block_rows``,
``memory_budget``, ``timeout`` and ``progress`` as keywords of its own; they
are now the fields of :class:`~sheaftopo._core.dask.DaskOptions`. The old
keywords keep working until sheaftopo 0.3, with a ``DeprecationWarning``, and
give the same result as the same values passed in ``options``.
"""

from __future__ import annotations

import warnings
from typing import Any

from .._core.dask import DaskOptions
from .._core.deprecation import REMOVED_IN

#: the keywords that ``options=`` replaces (the fields of DaskOptions they set)
DEPRECATED_KEYWORDS = ("client", "block_rows", "memory_budget", "timeout", "progress")


def dask_options(options: Any, deprecated: dict[str, Any], func: str) -> DaskOptions:
    """The :class:`DaskOptions` of one call of the entry point ``func``.

    Parameters
    ----------
    options : DaskOptions or None
        The call's ``options`` argument (None: the defaults).
    deprecated : dict
        The other keyword arguments the call received: the deprecated
        keywords of :data:`DEPRECATED_KEYWORDS`, which warn and set the
        fields of the same names.
    func : str
        The entry point's name, for the messages.

    Returns
    -------
    DaskOptions
        Not yet validated: each entry point checks the fields it uses, with
        the messages it always gave.

    Raises
    ------
    TypeError
        A keyword that is not one of :data:`DEPRECATED_KEYWORDS` (as Python
        raises for an unknown keyword), ``options`` not a DaskOptions, or
        both ``options`` and deprecated keywords.
    """
    unknown = [k for k in deprecated if k not in DEPRECATED_KEYWORDS]
    if unknown:
        raise TypeError(f"{func}() got an unexpected keyword argument {unknown[0]!r}")
    if options is not None and not isinstance(options, DaskOptions):
        raise TypeError(
            f"options must be a sheaftopo.distributed.DaskOptions or None; got "
            f"{type(options).__name__}"
        )
    if not deprecated:
        return DaskOptions() if options is None else options
    names = ", ".join(deprecated)
    if options is not None:
        raise TypeError(
            f"{func}: pass the Dask settings either in options=DaskOptions(...) or as the "
            f"deprecated keywords ({names}), not both"
        )
    given = ", ".join(f"{k}=..." for k in deprecated)
    warnings.warn(
        f"{func}: the keyword arguments {names} are deprecated and will be removed in "
        f"sheaftopo {REMOVED_IN}; pass options=DaskOptions({given}) instead "
        "(sheaftopo.distributed.DaskOptions)",
        DeprecationWarning,
        stacklevel=3,
    )
    return DaskOptions(**deprecated)
