"""`ketacare score`, run as a clinician would: the installed console script in a subprocess,
with no Django settings, secret key or KETACARE_* variables in its environment."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clinical.test_instrument_scoring import EXAMPLES

KETACARE = Path(sys.executable).parent / "ketacare"
USAGE_ERROR = 2


def clean_env() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if name not in ("DJANGO_SETTINGS_MODULE", "SECRET_KEY") and not name.startswith("KETACARE_")
    }


def ketacare_score(*args: str, cwd: Path, env: dict[str, str] | None = None):
    assert KETACARE.exists(), f"console script not installed next to {sys.executable}"
    return subprocess.run(
        [str(KETACARE), "score", *args],
        env=clean_env() if env is None else env,
        cwd=cwd,  # away from the repository, so nothing is picked up from the working directory
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def answers(values) -> str:
    return "--answers=" + ",".join(str(v) for v in values)


def assert_usage_error(result, *fragments: str) -> str:
    assert result.returncode == USAGE_ERROR, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_the_environment_really_is_clean():
    env = clean_env()
    assert "DJANGO_SETTINGS_MODULE" not in env
    assert "SECRET_KEY" not in env
    assert not [name for name in env if name.startswith("KETACARE_")]


CLI_EXAMPLES = [e for e in EXAMPLES if e.cli]


@pytest.mark.parametrize("example", CLI_EXAMPLES, ids=lambda e: e.id)
def test_json_output_agrees_with_hand_computed_example(example, tmp_path):
    args = [example.instrument, answers(example.answers), "--json"]
    if example.sex:
        args += ["--sex", example.sex]
    result = ketacare_score(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 1
    printed = json.loads(result.stdout)
    assert printed["instrument"] == example.instrument
    assert printed["total"] == example.total
    assert printed["severity"] == example.severity
    assert isinstance(printed["flags"], list)
    assert set(printed["flags"]) == example.flags
    if example.subscales is not None:
        assert printed["subscales"] == example.subscales


def test_space_separated_answers_option_works(tmp_path):
    result = ketacare_score("phq9", "--answers", "1,1,1,1,1,0,0,0,0", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total"] == 5


def test_blanks_around_answers_are_tolerated(tmp_path):
    result = ketacare_score("gad7", "--answers", "3, 2, 2, 2, 2, 2, 2", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["severity"] == "severe"


def test_plain_output_exits_0_and_shows_total_severity_and_flags(tmp_path):
    result = ketacare_score("phq9", answers([3] * 9), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "27" in result.stdout
    assert "severe" in result.stdout
    assert "suicidal_ideation" in result.stdout


def test_plain_output_shows_subscales(tmp_path):
    result = ketacare_score("ybocs", answers([3, 3, 3, 3, 3, 2, 2, 2, 2, 1]), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "24" in result.stdout
    assert "obsessions: 15" in result.stdout
    assert "compulsions: 9" in result.stdout


def test_plain_output_for_the_unsummed_cssrs(tmp_path):
    result = ketacare_score("cssrs_screen", answers([0, 0, 0, 0, 0, 1, 1]), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "risk_high" in result.stdout


def test_needs_no_django_at_all(tmp_path):
    """A `django` package that refuses to import, first on the path: scoring still works."""
    poisoned = tmp_path / "poison" / "django"
    poisoned.mkdir(parents=True)
    (poisoned / "__init__.py").write_text(
        'raise ImportError("ketacare score must not import Django")\n'
    )
    env = clean_env()
    env["PYTHONPATH"] = str(tmp_path / "poison")
    result = ketacare_score("phq9", answers([1] * 9), "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total"] == 9


# --- bad input: exit 2, one line on stderr, nothing on stdout --------------------------------


def test_too_few_answers(tmp_path):
    result = ketacare_score("phq9", answers([0] * 8), "--json", cwd=tmp_path)
    assert_usage_error(result, "phq9", "9", "8")


def test_too_many_answers(tmp_path):
    result = ketacare_score("moaas", answers([5, 5]), cwd=tmp_path)
    assert_usage_error(result, "moaas", "1", "2")


def test_out_of_range_answer_names_item_and_range(tmp_path):
    result = ketacare_score("phq9", answers([0, 0, 0, 4, 0, 0, 0, 0, 0]), "--json", cwd=tmp_path)
    assert_usage_error(result, "item 4", "0–3")


def test_out_of_range_on_the_last_item_of_a_long_instrument(tmp_path):
    result = ketacare_score("cadss", answers([0] * 22 + [5]), cwd=tmp_path)
    assert_usage_error(result, "item 23", "0–4")


def test_negative_answer_with_equals_sign_names_item_and_range(tmp_path):
    result = ketacare_score("gad7", answers([-1, 0, 0, 0, 0, 0, 0]), cwd=tmp_path)
    assert_usage_error(result, "item 1", "0–3")


def test_negative_answer_space_separated_names_item_and_range(tmp_path):
    result = ketacare_score("gad7", "--answers", "-1,0,0,0,0,0,0", cwd=tmp_path)
    assert_usage_error(result, "item 1", "0–3")


@pytest.mark.parametrize("text", ["1,x,0,0,0,0,0,0,0", "1,,0,0,0,0,0,0,0", "1,1.5,0,0,0,0,0,0,0"])
def test_non_numeric_answer(text, tmp_path):
    line = assert_usage_error(ketacare_score("phq9", "--answers", text, cwd=tmp_path))
    assert "2" in line  # the position of the bad answer


def test_unknown_instrument(tmp_path):
    result = ketacare_score("phq10", answers([0] * 9), "--json", cwd=tmp_path)
    assert_usage_error(result, "phq10")


def test_auditc_without_sex(tmp_path):
    result = ketacare_score("auditc", answers([1, 1, 1]), "--json", cwd=tmp_path)
    assert_usage_error(result, "sex")


def test_cssrs_q6_within_3_months_without_q6(tmp_path):
    result = ketacare_score("cssrs_screen", answers([0, 0, 0, 0, 0, 0, 1]), cwd=tmp_path)
    assert_usage_error(result, "item 7")


def test_dast10_yes_no_item_out_of_range(tmp_path):
    result = ketacare_score("dast10", answers([0, 0, 2, 0, 0, 0, 0, 0, 0, 0]), cwd=tmp_path)
    assert_usage_error(result, "item 3", "0–1")


# --- safety alerts: the suicide items of every instrument that asks about them ---------------


@pytest.mark.parametrize(
    ("instrument", "item", "below", "at", "finding"),
    [
        ("phq9", 9, 0, 1, "PHQ-9 item 9 (thoughts of death or self-harm) = 1"),
        ("qids_sr16", 12, 0, 1, "QIDS-SR16 item 12 (thoughts of death or suicide) = 1"),
        ("madrs", 10, 3, 4, "MADRS item 10 (suicidal thoughts) = 4"),
    ],
)
def test_json_shows_the_suicidal_ideation_flag_and_alert_at_the_threshold(
    instrument, item, below, at, finding, tmp_path
):
    n_items = {"phq9": 9, "qids_sr16": 16, "madrs": 10}[instrument]
    quiet = [0] * n_items
    quiet[item - 1] = below
    printed = json.loads(ketacare_score(instrument, answers(quiet), "--json", cwd=tmp_path).stdout)
    assert printed["flags"] == []
    assert printed["alerts"] == []
    raised = [0] * n_items
    raised[item - 1] = at
    printed = json.loads(ketacare_score(instrument, answers(raised), "--json", cwd=tmp_path).stdout)
    assert printed["flags"] == ["suicidal_ideation"]
    (alert,) = printed["alerts"]
    assert alert["flag"] == "suicidal_ideation"
    assert alert["finding"] == finding
    assert alert["rule"].startswith(finding.split(" = ")[0])
    assert alert["source"]


def test_plain_output_names_the_alert_and_its_source(tmp_path):
    result = ketacare_score("madrs", answers([0] * 9 + [5]), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    alert_line = result.stdout.splitlines()[-1]
    assert alert_line.startswith("SAFETY ALERT: MADRS item 10 (suicidal thoughts) = 5")
    assert "at 4 or above" in alert_line
    assert "Clinic policy" in alert_line


def test_plain_output_has_no_alert_line_below_the_threshold(tmp_path):
    result = ketacare_score("madrs", answers([6] * 9 + [3]), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "suicidal_ideation" not in result.stdout
    assert "SAFETY ALERT" not in result.stdout


def test_cssrs_high_risk_alert_names_the_questions_answered_yes(tmp_path):
    result = ketacare_score("cssrs_screen", answers([1, 1, 0, 1, 0, 0, 0]), "--json", cwd=tmp_path)
    (alert,) = json.loads(result.stdout)["alerts"]
    assert alert["flag"] == "risk_high"
    assert alert["finding"] == "C-SSRS screen: yes to Q1, Q2, Q4"


@pytest.mark.parametrize("item", [3, 4, 5])
def test_cssrs_q3_to_q5_after_a_no_to_q2_are_refused(item, tmp_path):
    given = [1, 0, 0, 0, 0, 0, 0]
    given[item - 1] = 1
    result = ketacare_score("cssrs_screen", answers(given), cwd=tmp_path)
    assert_usage_error(result, f"item {item}", "only after a yes to item 2")


@pytest.mark.parametrize(
    ("given", "triage"),
    [
        ([0] * 7, None),
        ([1, 1, 0, 0, 0, 0, 0], "give crisis resources"),
        ([1, 1, 1, 0, 0, 0, 0], "Behavioural-health referral"),
        ([1, 1, 0, 0, 1, 0, 0], "Immediate safety precautions"),
    ],
)
def test_cssrs_json_says_what_columbia_triage_asks(given, triage, tmp_path):
    printed = json.loads(
        ketacare_score("cssrs_screen", answers(given), "--json", cwd=tmp_path).stdout
    )
    if triage is None:
        assert "triage" not in printed
    else:
        assert triage in printed["triage"]


def test_plain_output_gives_the_triage_with_its_source(tmp_path):
    result = ketacare_score("cssrs_screen", answers([1, 0, 0, 0, 0, 0, 0]), cwd=tmp_path)
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("Triage:")]
    assert "988" in line
    assert "Columbia" in line
