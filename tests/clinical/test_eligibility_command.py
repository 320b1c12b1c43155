"""`ketacare eligibility --evaluation FILE.json [--json]`: the verdict per route with every
fired rule, its rationale and source; bad input exits 2 with one line naming the problem."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ketacare.clinical.eligibility import ROUTES
from ketacare.eligibility_cli import main
from tests.clinical.test_eligibility_rules import EXAMPLE, changed, clean, removed

USAGE_ERROR = 2


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(tmp_path: Path, data: object, name: str = "evaluation.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), "utf-8")
    return str(path)


def assert_usage_error(code: int, out: str, err: str, *fragments: str) -> str:
    assert code == USAGE_ERROR, (code, out, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ketacare eligibility: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# --- success -------------------------------------------------------------------------------------


def test_json_output_for_the_committed_example(capsys):
    code, out, err = run(capsys, "--evaluation", str(EXAMPLE), "--json")
    assert code == 0
    assert err == ""
    assert len(out.splitlines()) == 1
    printed = json.loads(out)
    assert printed["rules_version"]
    assert list(printed["routes"]) == list(ROUTES)
    for route, verdict in printed["routes"].items():
        assert verdict["route"] == route
        assert verdict["verdict"] == "caution"
        assert verdict["override"] is None
        ids = {f["id"] for f in verdict["fired"]}
        assert "benzodiazepines" in ids
        for fired in verdict["fired"]:
            assert set(fired) == {
                "id",
                "verdict",
                "rationale",
                "source",
                "policy",
                "values",
                "clinic_changes",
            }
            assert fired["rationale"] and fired["source"]
    esketamine_bp = next(
        f
        for f in printed["routes"]["intranasal_esketamine"]["fired"]
        if f["id"] == "esketamine_baseline_blood_pressure_raised"
    )
    assert esketamine_bp["policy"] is False
    assert esketamine_bp["values"] == {"vitals.systolic": 144, "vitals.diastolic": 86}


def test_json_output_for_a_contraindication(capsys, tmp_path):
    path = write(tmp_path, changed({"medical.arteriovenous_malformation": True}))
    code, out, _ = run(capsys, "--evaluation", path, "--json")
    assert code == 0
    routes = json.loads(out)["routes"]
    assert routes["intranasal_esketamine"]["verdict"] == "exclude"
    (fired,) = routes["intranasal_esketamine"]["fired"]
    assert fired["id"] == "esketamine_arteriovenous_malformation"
    assert fired["source"].startswith(
        "Spravato (esketamine) prescribing information, Contraindications"
    )
    assert routes["iv_ketamine"]["verdict"] == "needs_clearance"
    assert routes["im_ketamine"]["verdict"] == "needs_clearance"


def test_text_output_shows_each_route_rule_rationale_and_source(capsys, tmp_path):
    path = write(
        tmp_path,
        changed({"medical.aneurysmal_vascular_disease": True, "medications.benzodiazepines": True}),
    )
    code, out, err = run(capsys, "--evaluation", path)
    assert code == 0
    assert err == ""
    assert "intranasal_esketamine: exclude" in out
    assert "iv_ketamine: needs_clearance" in out
    assert "im_ketamine: needs_clearance" in out
    assert "- exclude: esketamine_aneurysmal_vascular_disease [label]" in out
    assert "- caution: benzodiazepines [clinic policy]" in out
    assert "Aneurysmal vascular disease (thoracic or abdominal aorta" in out
    assert "source: Spravato (esketamine) prescribing information, Contraindications" in out
    assert "because: medical.aneurysmal_vascular_disease = true" in out
    assert "prescriber decides" in out


def test_text_output_for_a_clean_evaluation(capsys, tmp_path):
    code, out, _ = run(capsys, "--evaluation", write(tmp_path, clean()))
    assert code == 0
    for route in ROUTES:
        assert f"{route}: eligible" in out
    assert out.count("no rule fired") == len(ROUTES)


@pytest.mark.parametrize("age", [17, 18])
def test_text_output_shows_the_age_rules_with_their_sources(capsys, tmp_path, age):
    code, out, _ = run(capsys, "--evaluation", write(tmp_path, changed({"age_years": age})))
    assert code == 0
    if age == 18:
        assert out.count("no rule fired") == len(ROUTES)
        return
    assert "intranasal_esketamine: exclude" in out
    assert "- exclude: esketamine_under_18 [label]" in out
    assert "source: Spravato (esketamine) prescribing information, Indications and Usage" in out
    assert "because: age_years = 17" in out
    assert "iv_ketamine: needs_clearance" in out
    assert "im_ketamine: needs_clearance" in out
    assert "- needs_clearance: ketamine_under_18 [clinic policy]" in out
    assert "off-label" in out


def test_json_output_for_severe_blood_pressure_and_heart_rate(capsys, tmp_path):
    data = changed({"vitals.systolic": 230, "vitals.diastolic": 130, "vitals.heart_rate": 150})
    code, out, _ = run(capsys, "--evaluation", write(tmp_path, data), "--json")
    assert code == 0
    for route, verdict in json.loads(out)["routes"].items():
        assert verdict["verdict"] == "needs_clearance", route
        fired = {f["id"]: f for f in verdict["fired"]}
        assert fired["severe_hypertension_at_evaluation"]["values"] == {
            "vitals.systolic": 230,
            "vitals.diastolic": 130,
        }
        assert fired["severe_tachycardia_at_evaluation"]["values"] == {"vitals.heart_rate": 150}
        assert fired["tachycardia_at_evaluation"]["verdict"] == "caution"
        for rule_id in ("severe_hypertension_at_evaluation", "severe_tachycardia_at_evaluation"):
            assert fired[rule_id]["policy"] is True
            assert fired[rule_id]["source"].startswith("clinic policy [unverified]")
            assert "clinical-reference §3" in fired[rule_id]["source"]


def test_text_output_cites_the_ketalar_label_for_racemic_ketamine(capsys, tmp_path):
    path = write(tmp_path, changed({"medical.uncontrolled_hypertension": True}))
    code, out, _ = run(capsys, "--evaluation", path)
    assert code == 0
    assert "iv_ketamine: needs_clearance" in out
    assert "- needs_clearance: ketamine_uncontrolled_hypertension [label]" in out
    assert (
        "source: Ketalar (ketamine hydrochloride) prescribing information, Contraindications: "
        "patients in whom a significant elevation of blood pressure would constitute a serious "
        "hazard [secondary — label text quoted in reviews] (clinical-reference §7)"
    ) in out
    # Esketamine keeps its own label's advice: weigh the risk (caution).
    assert "intranasal_esketamine: caution" in out
    assert "- caution: esketamine_uncontrolled_hypertension [label]" in out


@pytest.mark.parametrize(
    ("field", "esketamine_rule", "section", "racemic_rule"),
    [
        (
            "medical.pregnant_or_breastfeeding",
            "esketamine_pregnancy_or_breastfeeding",
            "§8.1",
            "pregnancy_or_breastfeeding",
        ),
        (
            "medical.severe_hepatic_disease",
            "esketamine_severe_hepatic_impairment",
            "§8.6",
            "severe_hepatic_disease",
        ),
        ("psychiatric.psychosis", "esketamine_psychosis_history", "§5.2", "psychosis_history"),
    ],
)
def test_text_output_cites_the_spravato_label_for_specific_populations(
    capsys, tmp_path, field, esketamine_rule, section, racemic_rule
):
    code, out, _ = run(capsys, "--evaluation", write(tmp_path, changed({field: True})))
    assert code == 0
    esketamine = out[out.index("intranasal_esketamine:") :]
    assert f"- needs_clearance: {esketamine_rule} [label]" in esketamine
    assert "source: Spravato (esketamine) prescribing information" in esketamine
    assert section in esketamine
    racemic = out[: out.index("intranasal_esketamine:")]
    assert racemic.count(f"- needs_clearance: {racemic_rule} [clinic policy]") == 2


def test_needs_no_django_at_all(tmp_path):
    """A `django` package that refuses to import, first on the path: the command still works."""
    poisoned = tmp_path / "poison" / "django"
    poisoned.mkdir(parents=True)
    (poisoned / "__init__.py").write_text('raise ImportError("must not import Django")\n')
    repo = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "poison"), str(repo / "src")])
    script = "import sys; from ketacare.eligibility_cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run(
        [sys.executable, "-c", script, "--evaluation", str(EXAMPLE), "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["routes"]["iv_ketamine"]["verdict"] == "caution"


# --- bad input: exit 2, one line on stderr, nothing on stdout ------------------------------------


@pytest.mark.parametrize("as_json", [True, False])
def test_missing_field(capsys, tmp_path, as_json):
    path = write(tmp_path, removed("medical.aneurysmal_vascular_disease"))
    args = ["--evaluation", path, *(["--json"] if as_json else [])]
    assert_usage_error(
        *run(capsys, *args), "missing field: medical.aneurysmal_vascular_disease", path
    )


def test_mistyped_field(capsys, tmp_path):
    path = write(tmp_path, changed({"age_years": "forty"}))
    assert_usage_error(
        *run(capsys, "--evaluation", path, "--json"),
        "field age_years must be an integer, got 'forty'",
    )


def test_unknown_field(capsys, tmp_path):
    path = write(tmp_path, changed({"medical.avm": True}))
    assert_usage_error(*run(capsys, "--evaluation", path), "unknown field: medical.avm")


def test_screen_left_out_instead_of_null(capsys, tmp_path):
    path = write(tmp_path, removed("screening.urine_toxicology"))
    assert_usage_error(
        *run(capsys, "--evaluation", path), "missing field: screening.urine_toxicology"
    )


def test_missing_file(capsys, tmp_path):
    path = str(tmp_path / "nowhere.json")
    assert_usage_error(
        *run(capsys, "--evaluation", path, "--json"), "cannot read", "nowhere.json", "No such file"
    )


def test_directory_instead_of_file(capsys, tmp_path):
    assert_usage_error(*run(capsys, "--evaluation", str(tmp_path)), "cannot read")


def test_file_that_is_not_utf8(capsys, tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"indication": "trd", "note": "caf\xe9"}'.encode("latin-1"))
    assert_usage_error(*run(capsys, "--evaluation", str(path)), "not UTF-8")


@pytest.mark.parametrize("text", ["", "{", "not json", '{"indication": "trd",}'])
def test_invalid_json(capsys, tmp_path, text):
    assert_usage_error(*run(capsys, "--evaluation", write(tmp_path, text)), "not valid JSON")


def test_json_that_is_not_an_object(capsys, tmp_path):
    path = write(tmp_path, [clean()])
    assert_usage_error(*run(capsys, "--evaluation", path), "must be a JSON object")


def test_repeated_key(capsys, tmp_path):
    text = json.dumps(clean())[:-1] + ', "indication": "ocd"}'
    assert_usage_error(
        *run(capsys, "--evaluation", write(tmp_path, text)), "duplicate field: indication"
    )


def test_file_name_with_a_newline_still_gives_one_line(capsys, tmp_path):
    path = str(tmp_path / "two\nlines.json")
    assert_usage_error(*run(capsys, "--evaluation", path), "cannot read")


def test_evaluation_option_is_required(capsys):
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == USAGE_ERROR
    assert "--evaluation" in capsys.readouterr().err


def test_the_ketacare_console_script_runs_it_without_django_settings(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    example = Path(__file__).parent / "data" / "eligibility_example.json"
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("ketacare")),
            "eligibility",
            "--evaluation",
            str(example),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "intranasal_esketamine" in result.stdout
    broken = tmp_path / "broken.json"
    broken.write_text('{"indication": "trd"}')
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("ketacare")),
            "eligibility",
            "--evaluation",
            str(broken),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert result.returncode == 2
    assert "missing field" in result.stderr
