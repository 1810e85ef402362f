"""Compiled templates are kept between runs only in jinja2's per-user directory."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest

from reconciler.render import env as render_env


def test_the_cache_is_a_private_directory_of_the_temporary_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    cache = render_env._template_cache()
    assert cache is not None
    folder = Path(cache.directory)  # type: ignore[attr-defined]
    assert folder.parent == tmp_path and folder.name == f"_jinja2-cache-{os.getuid()}"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    fresh = render_env.environment.__wrapped__()
    first = fresh.get_template("text_summary.j2")
    assert list(folder.iterdir())  # compiled once, kept
    second = render_env.environment.__wrapped__()
    monkeypatch.setattr(second, "compile", _no_compiling)
    again = second.get_template("text_summary.j2")  # read from the cache, not compiled
    assert again.root_render_func.__code__.co_code == first.root_render_func.__code__.co_code
    assert not list(tmp_path.glob("*.cache"))  # nothing in the working directory


def _no_compiling(*args: object, **kwargs: object) -> None:
    raise AssertionError("compiled again")


def test_a_directory_others_can_write_to_is_not_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    folder = tmp_path / f"_jinja2-cache-{os.getuid()}"
    folder.mkdir()
    os.chmod(folder, 0o777)
    monkeypatch.setattr(os, "chmod", lambda *a, **k: None)  # as if another user owned it
    assert render_env._template_cache() is None
    # and the templates still render, compiled on the spot
    assert render_env.environment.__wrapped__().get_template("text_summary.j2") is not None
