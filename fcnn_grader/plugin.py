"""The pytest plugin: options, settings, collection of the checks, reporting hooks.

Thin on purpose; the work is done in settings.py, session.py, items.py and
the checks. Loading it imports neither torch nor torchvision: without
``--exercise`` it only adds its options and stays out of the way.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from . import settings as settings_mod
from .settings import SETTINGS_KEY

# The run's GradingSession (session.py); items receive it from collect_checks, so they need not import this module.
SESSION_KEY = pytest.StashKey["object"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fcnn-grader", "fcnn-grader: check the CNN training exercises")
    for option in settings_mod.OPTIONS:
        dest = option.name.replace("-", "_")
        if option.metavar is None:
            group.addoption(f"--{option.name}", action="store_true", default=None, dest=dest, help=option.help)
        else:
            group.addoption(f"--{option.name}", action="store", default=None, dest=dest, metavar=option.metavar,
                            help=option.help)
        if option.ini:
            parser.addini(option.ini, option.help, type="bool" if option.metavar is None else "string", default=None)


def _values(config: pytest.Config) -> tuple[dict, set[str]]:
    values, explicit = {}, set()
    for option in settings_mod.OPTIONS:
        dest = option.name.replace("-", "_")
        value = config.getoption(dest)
        if value is not None:
            explicit.add(dest)
        elif option.ini:
            value = config.getini(option.ini) or None
        values[dest] = value
    return values, explicit


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fcnn_exercise(name): a grader check of exercise NAME")
    config.addinivalue_line("markers", "fcnn_needs_data: a grader check that reads FashionMNIST")
    config.addinivalue_line("markers", "fcnn_slow: a grader check that trains for a whole epoch")
    values, explicit = _values(config)
    try:
        settings = settings_mod.build_settings(
            values, Path(config.rootpath), Path(config.invocation_params.dir), explicit
        )
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    grading = None
    if settings.active:
        from .session import GradingSession

        # Deterministic cuBLAS needs this before CUDA starts (see oracle.make_deterministic).
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

        grading = GradingSession(settings)
        if _runs_checks(config):
            # Before this process imports torch (finish_settings): the children's imports overlap it.
            if settings.prefetch:
                grading.start_prefetch()
            grading.start_child()
        try:
            settings = grading.settings = settings_mod.finish_settings(settings)
        except ValueError as exc:
            grading.close()
            raise pytest.UsageError(str(exc)) from None
    config.stash[SETTINGS_KEY] = settings
    if grading is not None:
        from .reporter import REPORTER_KEY, GradeReporter

        config.stash[SESSION_KEY] = grading
        reporter = GradeReporter(config, settings, grading)
        config.stash[REPORTER_KEY] = reporter
        config.pluginmanager.register(reporter, "fcnn_grader_reporter")


def _runs_checks(config: pytest.Config) -> bool:
    """Whether this process runs checks at all: not for --collect-only, not as xdist's controller."""
    if config.option.collectonly:
        return False
    # Under xdist the controller runs nothing and each worker would train once.
    return not hasattr(config, "workerinput") and not getattr(config.option, "numprocesses", None)


def pytest_collection_finish(session: pytest.Session) -> None:
    grading = session.config.stash.get(SESSION_KEY, None)
    if grading is not None and not any(item.nodeid == "training_loop::accuracy" for item in session.items):
        grading.cancel_prefetch()  # deselected (-k, -m): no need to train


def _settings(config: pytest.Config):
    return config.stash.get(SETTINGS_KEY, None)


def pytest_report_header(config: pytest.Config):
    settings = _settings(config)
    if settings is not None and settings.active:
        return settings.header().splitlines()
    return None


def pytest_ignore_collect(collection_path: Path, config: pytest.Config):
    # With --exercise the run is the grader's checks only: the user's own
    # test files are neither imported nor run.
    settings = _settings(config)
    if settings is not None and settings.active:
        return True
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    settings = _settings(config)
    if settings is None or not settings.active:
        return
    from .items import collect_checks

    items[:] = collect_checks(session, settings, config.stash[SESSION_KEY])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    from .items import CheckItem

    if isinstance(item, CheckItem):
        item.finish_report(report, call)
    return report


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is None:
        return  # not a grading run: no reporter either
    session.close()
    from .reporter import REPORTER_KEY

    reporter = config.stash.get(REPORTER_KEY, None)
    if reporter is not None:
        reporter.unconfigure()
        config.pluginmanager.unregister(reporter)
