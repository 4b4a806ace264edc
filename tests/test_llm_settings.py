"""The LLM's settings for real servers: [llm] extra_body (a table passed through to each request) and
the defaults for a server on this machine (slow, one request at a time) where nothing else is set."""

from __future__ import annotations

from pathlib import Path

import pytest

from digestcli.config import CONFIG_NAME, load_settings
from digestcli.errors import ConfigError

LOCAL = "http://127.0.0.1:8080/v1"


def workspace_with(tmp_path: Path, llm_table: str) -> Path:
    (tmp_path / CONFIG_NAME).write_text(f"[llm]\n{llm_table}\n", encoding="utf-8")
    return tmp_path


def test_extra_body_is_read_as_a_table(tmp_path):
    root = workspace_with(tmp_path, "extra_body = { chat_template_kwargs = { enable_thinking = false }, top_k = 20 }")
    assert load_settings(root, {}).extra_body == {"chat_template_kwargs": {"enable_thinking": False}, "top_k": 20}
    assert load_settings(None, {}).extra_body == {}


@pytest.mark.parametrize("value, message", [
    ('"enable_thinking=false"', "'llm.extra_body' must be a table, got 'enable_thinking=false'"),
    ("{ when = 2024-05-01 }", "must hold only text, numbers, true/false, lists and tables"),
    ("{ top_p = inf }", "must hold only text, numbers, true/false, lists and tables"),
    ("{ temperature = 0.7, model = 'x' }", "'llm.extra_body' cannot set model, temperature: digest sets it"),
])
def test_extra_body_that_cannot_be_sent_is_one_clear_error(tmp_path, value, message):
    root = workspace_with(tmp_path, f"extra_body = {value}")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as raised:
        load_settings(root, {})
    assert str(raised.value).startswith(str(root / CONFIG_NAME))


def test_a_server_on_this_machine_gets_patient_defaults_one_request_at_a_time(tmp_path):
    local = load_settings(None, {"OPENAI_BASE_URL": LOCAL})
    remote = load_settings(None, {"OPENAI_BASE_URL": "https://api.example.com/v1"})
    openai = load_settings(None, {})

    assert (local.jobs, local.llm_timeout, local.llm_deadline) == (1, 900.0, 900.0)
    assert (remote.jobs, remote.llm_timeout, remote.llm_deadline) == (4, 120.0, 300.0)
    assert (openai.jobs, openai.llm_timeout, openai.llm_deadline) == (4, 120.0, 300.0)
    for address in ("http://localhost:11434/v1", "http://[::1]:8000/v1", "http://127.0.0.2:1234/v1"):
        assert load_settings(None, {"OPENAI_BASE_URL": address}).jobs == 1, address


def test_what_is_set_wins_over_the_local_defaults(tmp_path):
    root = workspace_with(tmp_path, f'base_url = "{LOCAL}"\ntimeout = 50\njobs = 2')

    from_toml = load_settings(root, {})
    from_environment = load_settings(root, {"DIGEST_JOBS": "3", "DIGEST_LLM_DEADLINE": "60"})
    from_flag = from_toml.with_flags(jobs=5)

    assert (from_toml.llm_timeout, from_toml.jobs, from_toml.llm_deadline) == (50, 2, 900.0)
    assert (from_environment.jobs, from_environment.llm_deadline) == (3, 60.0)
    assert from_flag.jobs == 5
