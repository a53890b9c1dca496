"""Sphinx configuration of the sheaftopo documentation site.

Build it with::

    pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

``tests/test_docs.py`` runs the same build (warnings are errors) and scans every
page for raw roles and unresolved references.

How the pieces fit:

* **Pages** are MyST markdown (``myst_parser``): the tutorials and prose pages in
  ``docs/``, the API pages in ``docs/api/`` (each a short introduction and an
  ``autosummary`` table of its unit's public names; autosummary writes one page
  per object into the git-ignored ``docs/api/generated/``).
* **Theory pages** live in the repository's top-level ``theory/`` folder (the
  verification harness and the tests read them there). At ``builder-inited``,
  :func:`write_theory_stubs` writes one stub ``docs/theory/<name>.md`` per page
  into a git-ignored folder, each a MyST ``{include}`` of
  ``../../theory/<name>.md``; the README becomes ``docs/theory/index.md``. The
  stubs keep the pages' names, so the theory pages' links to each other
  (``[...](h0-stability.md)``) resolve on the site as they do on GitHub.
* **Docstrings** are numpydoc; their types become cross-references
  (``numpydoc_xref_param_type``) and their roles resolve against our own objects
  or, through intersphinx, against numpy, scipy, Python, networkx, torch, POT,
  GUDHI, scikit-learn, Dask and zarr.
* **Intersphinx without network**: each external project's inventory is a
  small file shipped in ``docs/_inventories/<project>.inv``, written by
  ``docs/_inventories/make_inventories.py`` from the objects our docs actually
  reference and each project's documented URL scheme; links point to the real
  online pages, and the build never fetches anything. Rerun the script after
  referencing a new external object (the build's nitpicky warning names it).
* **Gallery**: sphinx-gallery runs ``examples/plot_*.py`` during the build and
  writes ``docs/auto_examples/`` (git-ignored), figures captured by the
  matplotlib scraper; a failing example fails the build.
* **Maths**: ``$...$`` / ``$$...$$`` in markdown (MyST ``dollarmath``,
  ``amsmath``) and ``:math:`` in docstrings are rendered by MathJax
  (``sphinx.ext.mathjax``; the browser loads MathJax from its CDN).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
# figures in the gallery and in doc pages never open a window
os.environ.setdefault("MPLBACKEND", "Agg")

import sheaftopo  # noqa: E402

project = "sheaftopo"
author = "The sheaftopo developers"
copyright = "2026, The sheaftopo developers"
release = sheaftopo.__version__
version = release

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
]

root_doc = "index"
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "_inventories",
    "_templates",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.md5",
    "auto_examples/*.json",
]

# ---------------------------------------------------------------- references
# Every unresolved cross-reference is a warning (and the build runs with -W).
nitpicky = True
# Every name resolves: ours through autodoc, the others through the shipped
# inventories; nothing is exempt (no ``nitpick_ignore``).

# ------------------------------------------------------------------- myst
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# ---------------------------------------------------------- autodoc, numpydoc
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # the numpydoc type lines say it
autodoc_member_order = "bysource"
# torch.nn.Module.forward's docstring is torch's, not ours: an undocumented
# override (forward, extra_repr) stays undocumented.
autodoc_inherit_docstrings = False
add_module_names = False

numpydoc_show_class_members = False  # the class template lists them
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = True
numpydoc_xref_aliases = {
    # numpy
    "array_like": ":term:`numpy:array_like`",
    "array-like": ":term:`numpy:array_like`",
    "ndarray": "numpy.ndarray",
    "np.ndarray": "numpy.ndarray",
    "Generator": "numpy.random.Generator",
    "numpy.random.Generator": "numpy.random.Generator",
    "dtype": "numpy.dtype",
    "integer": ":class:`python:int`",
    "number": ":class:`python:float`",
    "complex": ":class:`python:complex`",
    "path-like": ":term:`python:path-like object`",
    "PathLike": ":term:`python:path-like object`",
    "os.PathLike": ":term:`python:path-like object`",
    "Path": "pathlib.Path",
    "pathlib.Path": "pathlib.Path",
    "Sequence": "collections.abc.Sequence",
    "Mapping": "collections.abc.Mapping",
    "Iterable": "collections.abc.Iterable",
    "Callable": "collections.abc.Callable",
    "mapping": "collections.abc.Mapping",
    "set": ":class:`python:set`",
    "bytes": ":class:`python:bytes`",
    "object": ":class:`python:object`",
    # scipy
    "sparse matrix": "scipy.sparse.csr_matrix",
    "csr_matrix": "scipy.sparse.csr_matrix",
    "scipy.sparse.csr_matrix": "scipy.sparse.csr_matrix",
    "sparse array": "scipy.sparse.csr_array",
    "csr_array": "scipy.sparse.csr_array",
    "LinearOperator": "scipy.sparse.linalg.LinearOperator",
    # networkx, torch
    "Graph": "networkx.Graph",
    "nx.Graph": "networkx.Graph",
    "networkx.Graph": "networkx.Graph",
    "Tensor": "torch.Tensor",
    "torch.Tensor": "torch.Tensor",
    "Module": "torch.nn.Module",
    "nn.Module": "torch.nn.Module",
    "nn.ModuleList": "torch.nn.ModuleList",
    "torch.device": "torch.device",
    "torch.dtype": "torch.dtype",
    # our own result classes, so that type lines may use the short name
    "CellularSheaf": "sheaftopo.sheaf.CellularSheaf",
    "TransportResult": "sheaftopo.geometry.TransportResult",
    "SPDMean": "sheaftopo.geometry.SPDMean",
    "DaskOptions": "sheaftopo.distributed.DaskOptions",
}
# Words of type lines that are prose, not objects ("array_like, shape (n, d)").
_PROSE = set(
    """
    shape of or and optional default same as the a an one each per with in to from for if
    else is by on at its any n m d k p q b e N B D K row rows column columns length size
    entry entries element elements value values keyword keyword-only only positive
    non-negative nonnegative finite symmetric square float64 float32 int64 int32 bool_ uint8
    dense sparse matrix array arrays list-like
    """.split()
)

# The API pages, one per public unit, in the order a re-exported object is
# documented: under the first unit that exports it.
UNITS = (
    "sheaftopo.persistence",
    "sheaftopo.sheaf",
    "sheaftopo.fiber",
    "sheaftopo.geometry",
    "sheaftopo.verify",
    "sheaftopo.verify.strategies",
    "sheaftopo.distributed",
    "sheaftopo.torch",
    "sheaftopo.torch.sheafalign",
    "sheaftopo.io",
    "sheaftopo.datasets",
    "sheaftopo.report",
    "sheaftopo.cli",
)


def _public_objects():
    """``(unit, name, object)`` of every public name, each object once (its home unit)."""
    import importlib

    seen = set()
    for unit in UNITS:
        module = importlib.import_module(unit)
        for name in module.__all__:
            obj = getattr(module, name)
            if id(obj) not in seen or not callable(obj):
                seen.add(id(obj))
                yield unit, name, obj


def _type_words(objects) -> set[str]:
    """Every word of the type lines (Parameters, Returns, Attributes...) of our docstrings."""
    import inspect

    from numpydoc.docscrape import NumpyDocString

    sections = (
        "Parameters",
        "Other Parameters",
        "Returns",
        "Yields",
        "Receives",
        "Attributes",
        "Raises",
        "Warns",
    )
    words = set()
    docs = []
    for _, _, obj in objects:
        docs.append(inspect.getdoc(obj))
        if inspect.isclass(obj):
            docs += [inspect.getdoc(m) for n, m in vars(obj).items() if not n.startswith("_")]
    for doc in filter(None, docs):
        try:
            parsed = NumpyDocString(doc)
        except Exception:  # malformed sections are reported by the build itself
            continue
        for section in sections:
            for item in parsed[section]:
                words.update(re.split(r"[\s,\[\]\(\){}|=:*]+", item.type))
    return words


def _xref_settings():
    """Aliases for our classes' short names, and the type-line words that name nothing.

    A word of a type line is cross-referenced unless it is prose: a word that is
    neither an alias, nor a builtin, nor dotted, nor one of our public names, and
    is lower case, all caps, at most three characters or has an underscore
    (``shape (n_points, d)``, ``(L, M)``, ``floats``). A CamelCase word longer
    than that stays a reference, so a misspelt class name fails the build.
    """
    import builtins

    from numpydoc.xref import DEFAULT_LINKS

    objects = list(_public_objects())
    aliases = {}
    for unit, name, obj in objects:
        if isinstance(obj, type):
            aliases.setdefault(name, f"{unit}.{name}")
    known = set(aliases) | set(numpydoc_xref_aliases) | set(DEFAULT_LINKS) | set(dir(builtins))
    ignore = set(_PROSE)
    for word in _type_words(objects):
        if not word or word in known or "." in word or not re.match(r"^[A-Za-z_]\w*$", word):
            continue
        if word[0].islower() or word.isupper() or len(word) <= 3 or "_" in word:
            ignore.add(word)
    return aliases, ignore


_aliases, numpydoc_xref_ignore = _xref_settings()
numpydoc_xref_aliases = {**_aliases, **numpydoc_xref_aliases}

# --------------------------------------------------------------- intersphinx
# Local inventories only: no network during the build. See make_inventories.py.
_INV = "_inventories/{}.inv"
intersphinx_mapping = {
    "python": ("https://docs.python.org/3/", _INV.format("python")),
    "numpy": ("https://numpy.org/doc/stable/", _INV.format("numpy")),
    "scipy": ("https://docs.scipy.org/doc/scipy/", _INV.format("scipy")),
    "networkx": ("https://networkx.org/documentation/stable/", _INV.format("networkx")),
    "torch": ("https://docs.pytorch.org/docs/stable/", _INV.format("torch")),
    "ot": ("https://pythonot.github.io/", _INV.format("ot")),
    "gudhi": ("https://gudhi.inria.fr/python/latest/", _INV.format("gudhi")),
    "sklearn": ("https://scikit-learn.org/stable/", _INV.format("sklearn")),
}
intersphinx_mapping |= {
    "dask": ("https://docs.dask.org/en/stable/", _INV.format("dask")),
    "distributed": ("https://distributed.dask.org/en/stable/", _INV.format("distributed")),
    "zarr": ("https://zarr.readthedocs.io/en/stable/", _INV.format("zarr")),
}

# -------------------------------------------------------------------- gallery
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # the gallery shows the examples it runs; other scripts of examples/ (long
    # trainings such as tomclip_distillation.py) stay out of it
    "ignore_pattern": r"^(?!plot_).*\.py$",  # matched against the bare file name
    "image_scrapers": ("matplotlib",),
    "abort_on_example_error": True,
    # every build runs every example, so that a change of the library that
    # breaks one fails the build even when the example file did not change
    "run_stale_examples": True,
    "show_memory": False,
    "write_computation_times": False,
    "min_reported_time": 10**9,
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
    "reference_url": {"sheaftopo": None},
}

# ---------------------------------------------------------------------- html
html_theme = "pydata_sphinx_theme"
html_title = "sheaftopo"
html_static_path: list[str] = []
html_show_sourcelink = False
html_copy_source = False
html_domain_indices = False  # the module index has a row for the bare package
html_theme_options = {
    "github_url": "https://github.com/sheaftopo/sheaftopo",
    "navigation_with_keys": False,
    "show_toc_level": 2,
    # the sidebar of every page holds the whole toctree (about 300 pages):
    # collapsed, it is built in a fraction of the time
    "collapse_navigation": True,
    "navigation_depth": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"**": ["sidebar-nav-bs"]}


# ------------------------------------------------------------- theory pages
def write_theory_stubs(app) -> None:
    """Write ``docs/theory/<name>.md``, one MyST include per ``theory/*.md`` page.

    The theory pages must stay in the repository's ``theory/`` folder (the
    verification harness reads them); a Sphinx source directory cannot list
    files above it, so each page enters the site through a stub of the same name
    in the git-ignored ``docs/theory/`` folder. ``theory/README.md`` becomes the
    section's index. A stub is rewritten only when its text changes, so that
    incremental builds stay incremental.
    """
    out = DOCS / "theory"
    out.mkdir(exist_ok=True)
    pages = sorted((ROOT / "theory").glob("*.md"))
    wanted = {}
    for page in pages:
        name = "index" if page.name == "README.md" else page.stem
        wanted[f"{name}.md"] = f"```{{include}} ../../theory/{page.name}\n```\n"
    # the index lists every page (hidden: the README's table already links them)
    wanted["index.md"] += "\n```{toctree}\n:hidden:\n:glob:\n\n*\n```\n"
    for stale in out.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        target = out / name
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")


def remove_stale_pages(app) -> None:
    """Delete generated pages whose source is gone, before they are regenerated.

    autosummary and sphinx-gallery write into git-ignored folders of the source
    tree and never delete: the page of a public name that was removed, or of
    an example that was renamed, would stay, and fail the build as a document
    in no toctree.
    """
    public = {f"{unit}.{name}" for unit, name, _ in _public_objects()}
    for page in (DOCS / "api" / "generated").glob("*.rst"):
        if page.stem not in public:
            page.unlink()
    examples = {p.stem for p in (ROOT / "examples").glob("plot_*.py")}
    gallery = DOCS / "auto_examples"
    for page in gallery.glob("*.*"):
        stem = page.name.split(".")[0].removesuffix("_codeobj")
        if page.is_file() and stem not in examples | {"index", "sg_execution_times"}:
            page.unlink()


def setup(app):
    app.connect("builder-inited", write_theory_stubs, priority=100)
    app.connect("builder-inited", remove_stale_pages, priority=100)
    return {"parallel_read_safe": True}
