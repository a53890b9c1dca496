"""Write the intersphinx inventories the docs build reads, without network.

The site links numpy, scipy, Python, networkx, torch, POT, GUDHI,
scikit-learn and Dask names to their real online pages through intersphinx.
The build machines have no network, so instead of fetching each project's
``objects.inv`` the build reads the small inventories in this folder
(``docs/conf.py``: ``intersphinx_mapping = {"numpy":
("https://numpy.org/doc/stable/", "_inventories/numpy.inv"), ...}``). This
script writes them::

    python docs/_inventories/make_inventories.py

It lists the external objects our documentation references,

* every dotted name of a known project (``numpy.linalg.eigh``,
  ``scipy.sparse.csr_matrix``, ``torch.Tensor``, ``ot.emd2``...) written in a
  docstring of ``sheaftopo/``, a page of ``docs/`` or ``theory/``, or an
  example of ``examples/``, kept only if it imports (so a typo never gets a
  link);
* the targets of ``numpydoc_xref_aliases`` in ``docs/conf.py`` and numpydoc's
  default links (``int``, ``None``, ``array_like``...);
* a fixed list of Python names, glossary terms and labels,

and gives each the URL of its page under the project's documented URL scheme
(numpy: ``reference/generated/numpy.<name>.html``; scipy:
``reference/generated/scipy.<module>.<name>.html``; Python:
``library/<module>.html#<name>``; torch: ``generated/torch.<name>.html``;
networkx: ``reference/generated/networkx.<module>.<name>.html``, the module
being where networkx defines the function; POT: ``gen_modules/ot.<module>.html``;
scikit-learn: ``modules/generated/sklearn.<module>.<name>.html``). The few
pages that follow no scheme (``numpy.random.Generator``, ``torch.Tensor``,
``networkx.Graph``, GUDHI's user pages) are listed in ``SPECIAL``.

Rerun it after referencing a new external object; the build's nitpicky
warning (``py:func reference target not found: numpy.foo``) names what is
missing. Each file is a standard Sphinx inventory (version 2, zlib-compressed);
``check()`` reads every file back with ``sphinx.util.inventory``.
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import re
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

#: project -> (inventory file stem, base URL); the base URLs are those of
#: ``intersphinx_mapping`` in docs/conf.py.
PROJECTS = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "scipy": "https://docs.scipy.org/doc/scipy/",
    "networkx": "https://networkx.org/documentation/stable/",
    "torch": "https://docs.pytorch.org/docs/stable/",
    "ot": "https://pythonot.github.io/",
    "gudhi": "https://gudhi.inria.fr/python/latest/",
    "sklearn": "https://scikit-learn.org/stable/",
    "dask": "https://docs.dask.org/en/stable/",
    "distributed": "https://distributed.dask.org/en/stable/",
    "zarr": "https://zarr.readthedocs.io/en/stable/",
}
#: the top-level package of each project's objects (Python: the stdlib modules below)
PACKAGES = {
    "numpy": "numpy",
    "scipy": "scipy",
    "networkx": "networkx",
    "torch": "torch",
    "ot": "ot",
    "gudhi": "gudhi",
    "sklearn": "sklearn",
    "dask": "dask",
    "distributed": "distributed",
    "zarr": "zarr",
}
STDLIB = ("pathlib", "collections", "argparse", "sys", "os", "typing", "contextlib", "concurrent")

BUILTIN_CLASSES = (
    "int float complex str bytes bool dict list tuple set frozenset object type slice range"
).split()
BUILTIN_FUNCTIONS = "callable len min max sum isinstance".split()
CONSTANTS = ("None", "True", "False", "NotImplemented", "Ellipsis")
EXCEPTIONS = sorted(
    name
    for name, obj in vars(builtins).items()
    if isinstance(obj, type) and issubclass(obj, BaseException)
)
PYTHON_TERMS = {
    "sequence": "glossary.html#term-sequence",
    "iterable": "glossary.html#term-iterable",
    "iterator": "glossary.html#term-iterator",
    "generator": "glossary.html#term-generator",
    "mapping": "glossary.html#term-mapping",
    "path-like object": "glossary.html#term-path-like-object",
    "file object": "glossary.html#term-file-object",
    "hashable": "glossary.html#term-hashable",
    "context manager": "glossary.html#term-context-manager",
}
PYTHON_LABELS = {"bltin-boolean-values": "library/stdtypes.html#bltin-boolean-values"}

#: (project, name) -> (role, relative URI) for pages outside the schemes
SPECIAL = {
    ("numpy", "numpy.ndarray"): ("py:class", "reference/generated/numpy.ndarray.html"),
    ("numpy", "numpy.random.Generator"): (
        "py:class",
        "reference/random/generator.html#numpy.random.Generator",
    ),
    ("numpy", "numpy.random.default_rng"): (
        "py:function",
        "reference/random/generator.html#numpy.random.default_rng",
    ),
    ("numpy", "numpy.random.SeedSequence"): (
        "py:class",
        "reference/random/bit_generators/generated/numpy.random.SeedSequence.html",
    ),
    ("numpy", "numpy.random.RandomState"): (
        "py:class",
        "reference/random/legacy.html#numpy.random.RandomState",
    ),
    ("numpy", "numpy.inf"): ("py:data", "reference/constants.html#numpy.inf"),
    ("numpy", "numpy.nan"): ("py:data", "reference/constants.html#numpy.nan"),
    ("numpy", "numpy.float64"): ("py:class", "reference/arrays.scalars.html#numpy.float64"),
    ("numpy", "numpy.float32"): ("py:class", "reference/arrays.scalars.html#numpy.float32"),
    ("numpy", "numpy.int64"): ("py:class", "reference/arrays.scalars.html#numpy.int64"),
    ("numpy", "numpy.typing.ArrayLike"): (
        "py:data",
        "reference/typing.html#numpy.typing.ArrayLike",
    ),
    ("numpy", "numpy"): ("py:module", "reference/index.html"),
    ("scipy", "scipy.sparse"): ("py:module", "reference/sparse.html"),
    ("scipy", "scipy.sparse.csgraph"): ("py:module", "reference/sparse.csgraph.html"),
    ("scipy", "scipy.sparse.linalg"): ("py:module", "reference/sparse.linalg.html"),
    ("scipy", "scipy.linalg"): ("py:module", "reference/linalg.html"),
    ("torch", "torch"): ("py:module", "torch.html"),
    ("torch", "torch.Tensor"): ("py:class", "tensors.html#torch.Tensor"),
    ("torch", "torch.device"): ("py:class", "tensor_attributes.html#torch.device"),
    ("torch", "torch.dtype"): ("py:class", "tensor_attributes.html#torch.dtype"),
    ("torch", "torch.nn"): ("py:module", "nn.html"),
    ("torch", "torch.autograd.Function"): (
        "py:class",
        "autograd.html#torch.autograd.Function",
    ),
    ("networkx", "networkx"): ("py:module", "reference/index.html"),
    ("networkx", "networkx.Graph"): ("py:class", "reference/classes/graph.html#networkx.Graph"),
    ("networkx", "networkx.DiGraph"): (
        "py:class",
        "reference/classes/digraph.html#networkx.DiGraph",
    ),
    ("ot", "ot"): ("py:module", "all.html"),
    ("gudhi", "gudhi"): ("py:module", "index.html"),
    ("gudhi", "gudhi.bottleneck_distance"): (
        "py:function",
        "bottleneck_distance_user.html#gudhi.bottleneck_distance",
    ),
    ("gudhi", "gudhi.wasserstein.wasserstein_distance"): (
        "py:function",
        "wasserstein_distance_user.html#gudhi.wasserstein.wasserstein_distance",
    ),
    ("gudhi", "gudhi.representations.SlicedWassersteinDistance"): (
        "py:class",
        "representations.html#gudhi.representations.metrics.SlicedWassersteinDistance",
    ),
    ("gudhi", "gudhi.representations.SlicedWassersteinKernel"): (
        "py:class",
        "representations.html#gudhi.representations.kernel_methods.SlicedWassersteinKernel",
    ),
    ("sklearn", "sklearn"): ("py:module", "api/index.html"),
    ("dask", "dask.array.Array"): ("py:class", "generated/dask.array.Array.html"),
    ("dask", "dask.array"): ("py:module", "array.html"),
    ("distributed", "distributed.Client"): ("py:class", "api.html#distributed.Client"),
    ("zarr", "zarr.Array"): ("py:class", "api/zarr/array/#zarr.Array"),
}

_NAME = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+"
_QUALIFIED = re.compile(
    r"(?<![\w.])(?:np\.|numpy\.|scipy\.|torch\.|networkx\.|nx\.|ot\.|gudhi\.|sklearn\.|"
    r"dask\.|distributed\.|zarr\.|pathlib\.|collections\.|argparse\.|sys\.|typing\.)" + r"[\w.]*\w"
)
_SHORT = {"np.": "numpy.", "nx.": "networkx."}


def _sources():
    yield from (ROOT / "sheaftopo").rglob("*.py")
    for folder in ("docs", "theory", "examples"):
        for path in (ROOT / folder).rglob("*"):
            parts = set(path.relative_to(ROOT).parts)
            if path.suffix in {".py", ".md", ".rst"} and not parts & {
                "_build",
                "auto_examples",
                "generated",
            }:
                yield path


def collect_names() -> set[str]:
    """Dotted names of known projects written anywhere in our docs and docstrings."""
    names = set()
    for path in _sources():
        for match in _QUALIFIED.finditer(path.read_text(encoding="utf-8", errors="replace")):
            name = match.group(0)
            for short, full in _SHORT.items():
                if name.startswith(short):
                    name = full + name[len(short) :]
            names.add(name)
    sys.path.insert(0, str(HERE.parent))
    try:
        import numpydoc.xref as xref

        conf = importlib.import_module("conf")
        aliases = {**xref.DEFAULT_LINKS, **conf.numpydoc_xref_aliases}
    finally:
        sys.path.pop(0)
    for target in aliases.values():
        if re.fullmatch(_NAME, target):
            names.add(target)
    return names


def _resolve(name: str):
    """The object a dotted name refers to, or None when it does not import."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except Exception:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _role(obj, name: str = "") -> str:
    if inspect.ismodule(obj):
        return "py:module"
    if inspect.isclass(obj):
        return "py:exception" if issubclass(obj, BaseException) else "py:class"
    if callable(obj):
        # a method is a callable attribute of a class (cython functions of
        # scipy.sparse.csgraph look like method descriptors, but are functions)
        parent = _resolve(name.rpartition(".")[0]) if "." in name else None
        return "py:method" if inspect.isclass(parent) else "py:function"
    return "py:data"


def _scheme_uri(project: str, name: str, obj) -> str | None:
    """The relative URL of a name's page under its project's documented scheme."""
    role = _role(obj, name)
    if project == "numpy":
        return f"reference/generated/{name}.html"
    if project == "scipy":
        if role == "py:module":
            return f"reference/{name.removeprefix('scipy.')}.html"
        return f"reference/generated/{name}.html"
    if project == "torch":
        if role == "py:module":
            return f"{name.removeprefix('torch.')}.html"
        if role == "py:method":
            return f"generated/{name.rpartition('.')[0]}.html#{name}"
        return f"generated/{name}.html"
    if project == "networkx":
        module = getattr(obj, "__module__", None) or "networkx"
        full = f"{module}.{name.rsplit('.', 1)[1]}" if role == "py:function" else name
        return f"reference/generated/{full}.html"
    if project == "ot":
        if role == "py:module":
            return f"gen_modules/{name}.html"
        module = (getattr(obj, "__module__", None) or "ot").split(".")
        page = ".".join(module[:2])
        return f"gen_modules/{page}.html#{page}.{name.rsplit('.', 1)[1]}"
    if project == "sklearn":
        if role == "py:module":
            return f"api/{name}.html"
        module = (getattr(obj, "__module__", None) or "sklearn").split(".")
        public = ".".join(m for m in module[:2] if not m.startswith("_"))
        return f"modules/generated/{public}.{name.rsplit('.', 1)[1]}.html"
    if project == "dask" and role != "py:module" and not name.startswith("dask.distributed."):
        return f"generated/{name}.html"
    return None


def _python_uri(name: str, obj) -> str:
    module, _, _ = name.partition(".")
    if name.startswith("collections.abc."):
        module = "collections.abc"
    return f"library/{module}.html#{name}"


def build_entries() -> dict[str, list[tuple[str, str, str, str]]]:
    """``{project: [(name, role, uri, dispname), ...]}`` for every inventory."""
    entries: dict[str, list[tuple[str, str, str, str]]] = {p: [] for p in PROJECTS}
    python = entries["python"]
    python += [(n, "py:class", f"library/functions.html#{n}", "-") for n in BUILTIN_CLASSES]
    python += [(n, "py:function", f"library/functions.html#{n}", "-") for n in BUILTIN_FUNCTIONS]
    python += [(n, "py:data", f"library/constants.html#{n}", "-") for n in CONSTANTS]
    python += [(n, "py:exception", f"library/exceptions.html#{n}", "-") for n in EXCEPTIONS]
    python += [(t, "std:term", uri, t) for t, uri in PYTHON_TERMS.items()]
    python += [(t, "std:label", uri, t) for t, uri in PYTHON_LABELS.items()]
    numpy = entries["numpy"]
    numpy.append(("array_like", "std:term", "glossary.html#term-array_like", "array_like"))
    numpy.append(("arrays.scalars", "std:label", "reference/arrays.scalars.html", "Scalars"))
    for (project, name), (role, uri) in SPECIAL.items():
        entries[project].append((name, role, uri, "-"))
    special = {name for _, name in SPECIAL}
    for name in sorted(collect_names() - special):
        obj = _resolve(name)
        if obj is None:
            continue
        top = name.split(".")[0]
        project = next((p for p, pkg in PACKAGES.items() if pkg == top), None)
        if project is None and top in STDLIB:
            python.append((name, _role(obj, name), _python_uri(name, obj), "-"))
            continue
        uri = _scheme_uri(project, name, obj) if project else None
        if uri is not None:
            entries[project].append((name, _role(obj, name), uri, "-"))
    return entries


def write(project: str, rows) -> Path:
    """Write one Sphinx inventory (version 2) for ``project``."""
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        "# Version: stable\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    seen = set()
    lines = []
    for name, role, uri, disp in sorted(rows):
        if (name, role) not in seen:
            seen.add((name, role))
            lines.append(f"{name} {role} 1 {uri} {disp}\n")
    path = HERE / f"{project}.inv"
    path.write_bytes(header.encode() + zlib.compress("".join(lines).encode()))
    return path


def check(path: Path, base: str) -> int:
    """Read an inventory back with Sphinx's own reader; the number of entries."""
    from sphinx.util.inventory import InventoryFile

    with path.open("rb") as f:
        inv = InventoryFile.load(f, base, lambda b, u: b + u)
    data = getattr(inv, "data", inv)
    return sum(len(v) for v in data.values())


def main() -> None:
    for project, rows in build_entries().items():
        path = write(project, rows)
        print(f"{path.relative_to(ROOT)}: {check(path, PROJECTS[project])} objects")


if __name__ == "__main__":
    main()
