"""Loading optel's own modules from their current bytecode cache, without importlib's generic search.

Each module a run imports costs importlib's generic work (the finders on ``sys.meta_path``, the
directory's cached listing, the suffixes tried, the cache path worked out, two stats, a Python
``get_code``): about 35 µs of the 55 a small module takes here, paid for every optel module a host's
run loads (docs/internals.md#the-import-budget-of-the-host-side). optel's own package directories
get a finder (a ``FileFinder``, so that ``importlib.invalidate_caches`` and ``pkgutil`` see the one
they expect) that, for a module or package whose ``__pycache__`` file is current (the timestamp
check the standard loader makes), opens that file at once and hands its bytes to a
``SourceFileLoader`` that unmarshals them; everything else (no cache yet or a stale one, a
``pycache_prefix``, a hash-based cache, a name that is not a ``.py`` file) goes the standard way,
which also writes the cache. Nothing of the host's own imports passes here: only names under the
directories of optel's packages.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from importlib.machinery import ModuleSpec
    from types import CodeType, ModuleType

try:
    import _frozen_importlib as _bootstrap
    import _frozen_importlib_external as _external
    import _imp
    from io import open_code
    from marshal import loads
    from os import stat

    _loaders = _external._get_supported_file_loaders()  # type: ignore[attr-defined]
    _MAGIC = _external.MAGIC_NUMBER
    _TAG: str | None = sys.implementation.cache_tag
    _CODE = type((lambda: None).__code__)
except (ImportError, AttributeError):  # pragma: no cover - not CPython's importlib
    _TAG = None


if _TAG is not None:

    class _CachedLoader(_external.SourceFileLoader):
        """A SourceFileLoader given its module's current cache file; any other use is the standard one."""

        def __init__(self, fullname: str, path: str, cached: bytes) -> None:
            super().__init__(fullname, path)
            self._cached: bytes | None = cached

        def get_code(self, fullname: str) -> CodeType:
            data = self._cached
            if data is None or fullname != self.name:
                return super().get_code(fullname)  # type: ignore[return-value]
            self._cached = None
            try:
                code = loads(memoryview(data)[16:])
            except (EOFError, ValueError, TypeError):
                code = None
            if type(code) is not _CODE:
                # A cache cut short or garbled behind a valid header: the standard loader would
                # fail the import; the source is right there.
                return self.source_to_code(self.get_data(self.path), self.path)
            # As the standard loader does: a cache compiled elsewhere names that place.
            _imp._fix_co_filename(code, self.path)  # type: ignore[attr-defined]
            return code

    class _Finder(_external.FileFinder):
        """The finder of one of optel's package directories."""

        def find_spec(self, fullname: str, target: ModuleType | None = None) -> ModuleSpec | None:
            spec = None if sys.pycache_prefix else _cached_spec(self.path, fullname)
            if spec is None:
                spec = super().find_spec(fullname, target)
            if spec is not None and spec.submodule_search_locations:
                for directory in spec.submodule_search_locations:
                    _install(directory)
            return spec

    def _cached_spec(directory: str, fullname: str) -> ModuleSpec | None:
        leaf = fullname.rpartition(".")[2]
        optimize = sys.flags.optimize
        tail = f".{_TAG}.opt-{optimize}.pyc" if optimize else f".{_TAG}.pyc"
        # A module, then a package (FileFinder looks for the package first: optel has no module
        # beside a package of its name, tests/test_loader.py).
        for source, cache, package in (
            (f"{directory}/{leaf}.py", f"{directory}/__pycache__/{leaf}{tail}", False),
            (
                f"{directory}/{leaf}/__init__.py",
                f"{directory}/{leaf}/__pycache__/__init__{tail}",
                True,
            ),
        ):
            try:
                status = stat(source)
            except OSError:
                continue
            try:
                with open_code(cache) as file:
                    data = file.read()
            except OSError:
                return None
            if (
                data[:4] != _MAGIC
                or data[4:8] != b"\0\0\0\0"  # flags: a timestamp-checked cache
                or int.from_bytes(data[8:12], "little") != int(status.st_mtime) & 0xFFFFFFFF
                or int.from_bytes(data[12:16], "little") != status.st_size & 0xFFFFFFFF
            ):
                return None
            loader = _CachedLoader(fullname, source, data)
            spec = _bootstrap.ModuleSpec(fullname, loader, origin=source, is_package=package)
            spec.has_location = True
            spec.cached = cache
            if package:
                spec.submodule_search_locations = [source.rpartition("/")[0]]
            return spec
        return None

    def _install(directory: str) -> None:
        # Only where the standard finder is (or would be) used: a directory on the file system,
        # not a zip file's (zipimporter), nor one another tool has given its own finder.
        cache = sys.path_importer_cache
        existing = cache.get(directory, _install)
        if existing is _install or type(existing) is _external.FileFinder:
            cache[directory] = _Finder(directory, *_loaders)


def lazy_attribute(
    package: str, namespace: dict[str, object], where: Mapping[str, str], name: str
) -> object:
    """A package's ``__getattr__`` (PEP 562): `name` from its submodule ``where[name]`` (or the
    module a dotted ``optel.`` name gives), imported on first use and kept in the package's
    `namespace`, so that a host loads only the modules its path needs
    (docs/internals.md#the-import-budget-of-the-host-side). ``__import__``, not importlib:
    importing importlib would cost the host ~0.4 ms. Raises AttributeError for a name the package
    does not have."""
    module = where.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    qualified = module if module.startswith("optel.") else f"{package}.{module}"
    __import__(qualified)
    value = getattr(sys.modules[qualified], name)
    namespace[name] = value
    return value


def install(package: ModuleType) -> None:
    """Give `package`'s directories (optel's top package: its subpackages follow) the finder."""
    if _TAG is None or sys.implementation.name != "cpython" or sys.platform == "win32":
        return
    from os.path import isdir

    for directory in getattr(package, "__path__", ()):
        # A directory on disk: not a zip file's path, nor a bundler's (its own importer loads it).
        if isinstance(directory, str) and isdir(directory):
            _install(directory)
