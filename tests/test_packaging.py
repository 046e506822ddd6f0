"""The generic top-level names must resolve to this project, and the metadata must be whole."""

from __future__ import annotations

import configparser
import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["sentimon", "connectors", "models", "alerts"])
def test_top_level_names_import_from_this_project(name):
    module = importlib.import_module(name)
    assert Path(module.__file__).resolve().parent == ROOT / name


@pytest.mark.parametrize("name", ["sentimon", "connectors", "models", "alerts"])
def test_nothing_on_sys_path_shadows_the_top_level_names(name):
    """Found afresh, as a first import would be (sys.modules can hide a shadow): a test module
    that put bench/ (it has an alerts.py) first on sys.path made `import alerts` in any later
    module load the benchmark. Test modules are all imported before the first test runs, so in a
    full run this sees what every one of them did to sys.path."""
    spec = next(filter(None, (finder.find_spec(name, None) for finder in sys.meta_path
                              if hasattr(finder, "find_spec"))), None)
    assert spec is not None and spec.origin is not None, name
    assert Path(spec.origin).resolve().parent == ROOT / name, f"{name} would load {spec.origin}"


def test_setup_cfg_lists_packages_and_console_script():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    packages = cfg["options"]["packages"].split()
    assert packages == ["sentimon", "sentimon.pgstore", "sentimon.store", "connectors", "models", "alerts"]
    # A package folder missing here installs without it: `import sentimon.store` fails outside the checkout.
    folders = {init.parent.relative_to(ROOT).as_posix().replace("/", ".")
               for top in ("sentimon", "connectors", "models", "alerts") for init in (ROOT / top).rglob("__init__.py")}
    assert folders <= set(packages), folders - set(packages)
    assert "sentimon = sentimon.cli:main" in cfg["options.entry_points"]["console_scripts"]
    requires = cfg["options"]["install_requires"]
    for dependency in ("transformers", "torch", "praw", "apscheduler", "sqlite-utils", "click"):
        assert dependency in requires


def test_builtin_connectors_are_registered_by_entry_point():
    from connectors.base import BUILTIN, available_types

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    declared = {line.split("=")[0].strip() for line in cfg["options.entry_points"]["sentimon.connectors"].strip().splitlines()}
    assert declared == set(BUILTIN)
    assert set(available_types()) >= declared


def test_constraints_pin_every_runtime_requirement_within_its_range():
    """constraints.txt (for deployments) pins each install_requires package to one version that
    setup.cfg's range admits, so `pip install -c constraints.txt` gets the tested set."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    required = [Requirement(line) for line in config["options"]["install_requires"].splitlines()
                if line.strip() and not line.strip().startswith("#")]
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    for requirement in required:
        version = pins.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is not pinned in constraints.txt"
        assert requirement.specifier.contains(version, prereleases=True), f"{requirement.name}=={version} vs {requirement}"


def test_constraints_pin_the_dev_extra():
    """The gates' tools (ruff, mypy and the stubs it reads) find new things in new releases:
    constraints.txt holds the versions the suite passed with, each inside setup.cfg's range."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    pins = {canonicalize_name(name): version for name, version in (
        line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#"))}
    lines = [line.strip() for line in config["options.extras_require"]["dev"].splitlines()]
    requirements = [Requirement(line) for line in lines if line and not line.startswith("#")]
    assert {"mypy", "ruff", "types-requests"} <= {canonicalize_name(r.name) for r in requirements}
    for requirement in requirements:
        version = pins.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is not pinned in constraints.txt"
        assert requirement.specifier.contains(version), f"{requirement.name}=={version} vs {requirement}"


def test_constraints_pin_the_stores_extra():
    """`pip install -c constraints.txt '.[stores]'` must get the tested cryptography (and the
    cffi/pycparser it pulls in), not whatever is newest on the day."""
    from packaging.requirements import Requirement

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    pins = dict(line.lower().split("==") for line in (ROOT / "constraints.txt").read_text().splitlines()
                if line.strip() and not line.startswith("#"))
    for line in config["options.extras_require"]["stores"].split():
        requirement = Requirement(line)
        assert requirement.specifier.contains(pins[requirement.name.lower()]), requirement
    assert {"cffi", "pycparser"} <= set(pins)
