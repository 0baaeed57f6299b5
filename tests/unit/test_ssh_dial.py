"""How long the remote steps keep dialing SSH before they give up, modelled on the sources.

pulumi-command v1.2.1, ``provider/pkg/provider/remote/connection.go``:

- ``dialWithRetry`` (150-187) runs ``retry.Until`` and treats every dial error alike
  (refused, timed out, host key mismatch, authentication); ``reachedDialingErrorLimit``
  (252-255) stops when ``dials > dialErrorLimit``, so the limit allows limit+1 attempts,
  with a wait after each failure but the last;
- each attempt is ``ssh.Dial`` with ``Timeout: PerDialTimeout`` seconds (104; default 15, 78),
  the time a dial waits for a TCP connection nobody answers.

pulumi ``sdk/go/common/util/retry/until.go`` (``Retryer.Until``): waits start at
``DefaultDelay`` 100 ms, grow by ``DefaultBackoff`` 1.5 after each wait, and are capped at
``DefaultMaxDelay`` 5 s (the cap applied before each attempt, so a capped wait stays 5 s).
"""

from __future__ import annotations

import pytest

from components import host
from tests.harness import ROOT, run_stack

DELAY, BACKOFF, MAX_DELAY = 0.1, 1.5, 5.0


def dial_seconds(limit: int, seconds_per_failed_attempt: float = 0.0) -> float:
    """Time from the first dial to the error, when every attempt fails after ``seconds_per_failed_attempt``."""
    total, delay, attempt = 0.0, DELAY, 0
    while True:
        delay = min(delay, MAX_DELAY)
        total += seconds_per_failed_attempt
        if attempt + 1 > limit:  # reachedDialingErrorLimit(dials=try+1, limit)
            return total
        total += delay
        delay *= BACKOFF
        attempt += 1


def test_the_model_matches_the_numbers_of_issue_22():
    assert dial_seconds(40) == pytest.approx(161.3, abs=0.1)  # the former limit: ~2.7 minutes of fast failures
    assert dial_seconds(40, 15) == pytest.approx(776.3, abs=0.1)  # ~13 minutes when every dial times out
    assert dial_seconds(120) == pytest.approx(561.3, abs=0.1)  # ~9.4 minutes
    assert dial_seconds(0) == 0 and dial_seconds(1) == pytest.approx(0.1) and dial_seconds(2) == pytest.approx(0.25)


def test_a_new_cvm_gets_about_ten_minutes_of_fast_retries():
    """Refused connections (sshd not up while cloud-init installs packages and agents) fail at once."""
    assert 9 * 60 <= dial_seconds(host.DIAL_ERROR_LIMIT) <= 10 * 60


def test_every_remote_step_dials_with_these_limits():
    run = run_stack("dev")
    commands = run.of_type("command:remote:Command")
    assert commands
    for command in commands:
        connection = command.inputs["connection"]
        connection = connection.get("value", connection) if isinstance(connection, dict) else connection
        assert connection["dialErrorLimit"] == host.DIAL_ERROR_LIMIT, command.name
        assert connection["perDialTimeout"] == host.PER_DIAL_TIMEOUT_SECONDS, command.name


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}".rstrip("0").rstrip(".")


@pytest.mark.parametrize("readme, attempts, fast, dropped", [
    ("README.md", "{n} attempts", "about {m} minutes of retries", "fails only after about {m} minutes"),
    ("README.zh-CN.md", "共 {n} 次尝试", "大约 {m} 分钟的重试", "大约 {m} 分钟后才会失败"),
])
def test_the_readme_says_what_the_waiting_costs(readme, attempts, fast, dropped):
    """Including what a wrong server.sshAllowedCidrs costs: every dial waits out PER_DIAL_TIMEOUT_SECONDS."""
    text = " ".join((ROOT / readme).read_text().split())
    assert attempts.format(n=host.DIAL_ERROR_LIMIT + 1) in text
    assert fast.format(m=minutes(dial_seconds(host.DIAL_ERROR_LIMIT))) in text
    slow = dropped.format(m=round(dial_seconds(host.DIAL_ERROR_LIMIT, host.PER_DIAL_TIMEOUT_SECONDS) / 60))
    assert slow in text and "server.sshAllowedCidrs" in text[max(0, text.index(slow) - 300):text.index(slow)]
