"""deploy/nginx/render.py: the upstream it writes for gunicorn's address, and the ones it refuses."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
render = runpy.run_path(str(REPO / "deploy" / "nginx" / "render.py"))


def rendered(tmp_path: Path, *where: str) -> str:
    out = tmp_path / "nginx.conf"
    assert render["main"](["--listen", "127.0.0.1:8000", *where, "--run-dir", str(tmp_path), "--out", str(out)]) == 0
    return out.read_text()


def test_a_tcp_upstream(tmp_path):
    assert "server 127.0.0.1:8001 max_fails=0 max_conns=64;" in rendered(tmp_path, "--upstream", "127.0.0.1:8001")
    assert "server [::1]:8001 max_fails=0 max_conns=64;" in rendered(tmp_path, "--upstream", "[::1]:8001")


def test_a_unix_socket_upstream_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expected = f"server unix:{tmp_path / 'g.sock'} max_fails=0 max_conns=64;"
    assert expected in rendered(tmp_path, "--upstream", "unix:g.sock")
    assert expected in rendered(tmp_path, "--socket", "g.sock")


@pytest.mark.parametrize("address", ["127.0.0.1", "http://127.0.0.1:8001", "127.0.0.1:80; evil", "host:port"])
def test_an_address_that_is_not_one_is_refused(tmp_path, capsys, address):
    out = tmp_path / "nginx.conf"
    assert render["main"](["--upstream", address, "--run-dir", str(tmp_path), "--out", str(out)]) == 1
    assert "expected HOST:PORT or unix:PATH" in capsys.readouterr().err
    assert not out.exists()


def test_upstream_and_socket_exclude_each_other(tmp_path):
    with pytest.raises(SystemExit):
        render["main"](["--upstream", "127.0.0.1:8001", "--socket", "g.sock", "--run-dir", str(tmp_path),
                        "--out", str(tmp_path / "nginx.conf")])


def test_scoring_requests_are_limited_to_max_conns_and_probes_are_not(tmp_path):
    conf = rendered(tmp_path, "--upstream", "127.0.0.1:8001")
    assert "server 127.0.0.1:8001 max_fails=0 max_conns=64;" in conf
    assert "answering 64 scoring requests already" in conf
    # The second upstream, for GETs and feedback, has a limit of its own.
    assert "server 127.0.0.1:8001 max_fails=0 max_conns=32;" in conf
    conf = rendered(tmp_path, "--upstream", "127.0.0.1:8001", "--max-conns", "6")
    assert "max_conns=6;" in conf and "answering 6 scoring requests already" in conf


@pytest.mark.parametrize("value", ["0", "-1", "lots", "1.5"])
def test_max_conns_must_be_a_positive_whole_number(tmp_path, capsys, value):
    with pytest.raises(SystemExit):
        render["main"](["--upstream", "127.0.0.1:8001", "--max-conns", value, "--run-dir", str(tmp_path),
                        "--out", str(tmp_path / "nginx.conf")])
    assert "expected a whole number of 1 or more" in capsys.readouterr().err


def test_the_read_timeout_is_nginx_s_wait_for_an_answer(tmp_path):
    conf = rendered(tmp_path, "--upstream", "127.0.0.1:8001")
    assert "proxy_read_timeout 30s;" in conf and "did not answer within 30 s" in conf
    conf = rendered(tmp_path, "--upstream", "127.0.0.1:8001", "--read-timeout", "5")
    assert "proxy_read_timeout 5s;" in conf and "did not answer within 5 s" in conf
