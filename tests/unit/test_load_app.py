"""Loading an app by import path, and the errors that say what is wrong."""

from pathlib import Path

import pytest

from streams import ConfigurationError
from streams.worker import load_app


def test_an_app_module_named_like_one_of_our_packages_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config.py").write_text("API_KEY = 'x'\n")
    (tmp_path / "clashapp.py").write_text("from config import API_KEY\napp = None\n")
    with pytest.raises(ConfigurationError, match=r"config\.py has the name of agentstream's own"):
        load_app("clashapp:app", tmp_path)


def test_a_path_without_attribute_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"package\.module:app"):
        load_app("agents.echo", Path())


def test_a_missing_module_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="No module named 'nowhere'"):
        load_app("nowhere:app", tmp_path)
