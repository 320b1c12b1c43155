"""Hand-computed scoring examples for every instrument, edge rows included.

Every expected total, band and flag below was worked out by hand from
``docs/clinical-reference.md`` §1 (and, for the band names the reference does not spell
out, from the published source the data file cites) — never by running the scoring code.
The same table drives the CLI tests in ``test_score_command.py`` (rows marked ``cli``).
"""

from dataclasses import dataclass, field

import pytest

from ketacare.clinical.instruments import INSTRUMENT_IDS, AnswerError, get, score

ALL_INSTRUMENTS = {
    "phq9",
    "gad7",
    "pcl5",
    "qids_sr16",
    "auditc",
    "dast10",
    "cssrs_screen",
    "madrs",
    "ybocs",
    "cadss",
    "moaas",
}


@dataclass(frozen=True)
class Example:
    instrument: str
    answers: tuple[int, ...]
    total: int | None
    severity: str | None
    flags: frozenset[str] = frozenset()
    sex: str | None = None
    subscales: dict[str, int] | None = None
    note: str = ""
    cli: bool = False
    """Also run through `ketacare score --json` in test_score_command.py."""
    item_scores: tuple[int, ...] | None = field(default=None)

    @property
    def id(self) -> str:
        sex = f"-{self.sex}" if self.sex else ""
        return f"{self.instrument}{sex}-{self.note}"


def ex(instrument, answers, total, severity, *flags, **kwargs) -> Example:
    return Example(instrument, tuple(answers), total, severity, frozenset(flags), **kwargs)


def rated(n_items: int, ratings: dict[int, int], rest: int = 0) -> tuple[int, ...]:
    """An answer vector of ``n_items`` where item number -> rating, every other item ``rest``."""
    return tuple(ratings.get(number, rest) for number in range(1, n_items + 1))


def items(numbers, value: int) -> dict[int, int]:
    return dict.fromkeys(numbers, value)


SI = "suicidal_ideation"
PTSD = "probable_ptsd"
CLUSTERS = "dsm5_cluster_rule_met"
POS = "positive_screen"

# PCL-5: one symptom (item rated >= 2) more than each DSM-5 cluster needs is not wanted here;
# this is exactly the minimum: 1 of B (1-5), 1 of C (6-7), 2 of D (8-14), 2 of E (15-20).
PCL5_MINIMUM = {1: 2, 6: 2, 8: 2, 9: 2, 15: 2, 16: 2}
CADSS6 = (1, 2, 6, 7, 15, 22)

EXAMPLES: list[Example] = [
    # PHQ-9: 9 x 0-3, sum; minimal 0-4, mild 5-9, moderate 10-14, moderately_severe 15-19,
    # severe 20-27; item 9 > 0 raises suicidal_ideation.
    ex("phq9", [0] * 9, 0, "minimal", note="min", cli=True),
    ex("phq9", [1, 1, 1, 1, 0, 0, 0, 0, 0], 4, "minimal", note="4"),
    ex("phq9", [1, 1, 1, 1, 1, 0, 0, 0, 0], 5, "mild", note="5", cli=True),
    ex("phq9", [2, 2, 1, 1, 1, 1, 1, 0, 0], 9, "mild", note="9"),
    ex("phq9", [2, 2, 2, 1, 1, 1, 1, 0, 0], 10, "moderate", note="10"),
    ex("phq9", [3, 3, 2, 2, 2, 1, 1, 0, 0], 14, "moderate", note="14"),
    ex("phq9", [3, 3, 3, 3, 3, 0, 0, 0, 0], 15, "moderately_severe", note="15", cli=True),
    ex("phq9", [3, 3, 3, 3, 3, 3, 1, 0, 0], 19, "moderately_severe", note="19"),
    ex("phq9", [3, 3, 3, 3, 3, 3, 2, 0, 0], 20, "severe", note="20"),
    ex("phq9", [3] * 9, 27, "severe", SI, note="max", cli=True),
    ex("phq9", [0, 0, 0, 0, 0, 0, 0, 0, 1], 1, "minimal", SI, note="item9-only", cli=True),
    ex("phq9", [1] * 9, 9, "mild", SI, note="item9-is-1"),
    ex("phq9", [3, 3, 3, 3, 3, 3, 3, 3, 0], 24, "severe", note="item9-zero-high-total"),
    ex("phq9", [0, 0, 0, 0, 0, 0, 0, 3, 0], 3, "minimal", note="item8-is-not-item9"),
    # GAD-7: 7 x 0-3, sum; minimal 0-4, mild 5-9, moderate 10-14, severe 15-21.
    ex("gad7", [0] * 7, 0, "minimal", note="min"),
    ex("gad7", [1, 1, 1, 1, 0, 0, 0], 4, "minimal", note="4"),
    ex("gad7", [1, 1, 1, 1, 1, 0, 0], 5, "mild", note="5", cli=True),
    ex("gad7", [2, 2, 2, 1, 1, 1, 0], 9, "mild", note="9"),
    ex("gad7", [2, 2, 2, 2, 1, 1, 0], 10, "moderate", note="10"),
    ex("gad7", [2] * 7, 14, "moderate", note="14"),
    ex("gad7", [3, 2, 2, 2, 2, 2, 2], 15, "severe", note="15", cli=True),
    ex("gad7", [3] * 7, 21, "severe", note="max"),
    # PCL-5: 20 x 0-4, sum 0-80, no bands; probable_ptsd at >= 33; DSM-5 rule counts items
    # rated >= 2: 1 of items 1-5, 1 of 6-7, 2 of 8-14, 2 of 15-20.
    ex("pcl5", [0] * 20, 0, None, note="min"),
    ex("pcl5", [4] * 20, 80, None, PTSD, CLUSTERS, note="max", cli=True),
    ex(
        "pcl5",
        rated(20, items(range(1, 13), 2), rest=1),
        32,
        None,
        note="32-below-cut-point",
        cli=True,
        subscales={
            "cluster_b_intrusion": 10,
            "cluster_c_avoidance": 4,
            "cluster_d_cognition_mood": 12,
            "cluster_e_arousal": 6,
        },
    ),
    ex(
        "pcl5",
        rated(20, items(range(1, 14), 2), rest=1),
        33,
        None,
        PTSD,
        note="33-cut-point-cluster-E-empty",
        cli=True,
    ),
    ex(
        "pcl5",
        [2] * 20,
        40,
        None,
        PTSD,
        CLUSTERS,
        note="all-moderately",
        subscales={
            "cluster_b_intrusion": 10,
            "cluster_c_avoidance": 4,
            "cluster_d_cognition_mood": 14,
            "cluster_e_arousal": 12,
        },
    ),
    ex("pcl5", rated(20, PCL5_MINIMUM), 12, None, CLUSTERS, note="cluster-rule-minimum", cli=True),
    ex("pcl5", rated(20, {**PCL5_MINIMUM, 1: 1}), 11, None, note="one-short-in-B", cli=True),
    ex("pcl5", rated(20, {**PCL5_MINIMUM, 6: 1}), 11, None, note="one-short-in-C"),
    ex("pcl5", rated(20, {**PCL5_MINIMUM, 9: 1}), 11, None, note="one-short-in-D"),
    ex("pcl5", rated(20, {**PCL5_MINIMUM, 16: 1}), 11, None, note="one-short-in-E"),
    ex("pcl5", [1] * 20, 20, None, note="rated-1-is-not-a-symptom"),
    ex(
        "pcl5",
        rated(20, {5: 4, 7: 4, 13: 4, 14: 4, 19: 4, 20: 4}),
        24,
        None,
        CLUSTERS,
        note="last-item-of-each-cluster",
    ),
    # QIDS-SR16: 16 x 0-3; max(1-4) + 5 + max(6-9) + 10..14 + max(15-16) = 0-27;
    # none 0-5, mild 6-10, moderate 11-15, severe 16-20, very_severe 21-27; item 12 (thoughts
    # of death or suicide) >= 1 raises suicidal_ideation (clinic-policy default, reference §7).
    ex("qids_sr16", [0] * 16, 0, "none", note="min"),
    ex("qids_sr16", [3] * 16, 27, "very_severe", SI, note="max-not-48", cli=True),
    ex("qids_sr16", rated(16, {12: 1}), 1, "none", SI, note="item12-is-1", cli=True),
    ex("qids_sr16", rated(16, {11: 3, 13: 3}), 6, "mild", note="item12-zero-neighbours-3"),
    ex("qids_sr16", rated(16, {12: 3}), 3, "none", SI, note="item12-is-3"),
    ex(
        "qids_sr16",
        [1, 3, 2, 0, 0, 0, 2, 1, 1, 0, 0, 0, 0, 0, 2, 3],
        8,
        "mild",
        note="domain-maxima-not-sums",
        cli=True,
    ),
    ex(
        "qids_sr16",
        [3, 3, 3, 3, 0, 3, 3, 3, 3, 0, 0, 0, 0, 0, 3, 3],
        9,
        "mild",
        note="all-domain-items-3-count-9",
    ),
    ex(
        "qids_sr16",
        [0, 0, 0, 3, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 3],
        9,
        "mild",
        note="last-item-of-each-domain",
    ),
    ex(
        "qids_sr16",
        [0, 0, 0, 0, 3, 0, 0, 0, 0, 3, 3, 3, 3, 3, 0, 0],
        18,
        "severe",
        SI,
        note="single-items-count-each",
    ),
    ex("qids_sr16", [1, 1, 1, 1, 3, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0], 5, "none", note="5"),
    ex("qids_sr16", [1, 1, 1, 1, 3, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0], 6, "mild", note="6"),
    ex("qids_sr16", [2, 2, 2, 2, 3, 1, 1, 1, 1, 2, 1, 0, 0, 0, 1, 1], 10, "mild", note="10"),
    ex("qids_sr16", [3, 0, 0, 0, 3, 0, 0, 0, 0, 3, 2, 0, 0, 0, 0, 0], 11, "moderate", note="11"),
    ex("qids_sr16", [3, 3, 3, 3, 3, 0, 0, 0, 0, 3, 3, 0, 0, 0, 3, 0], 15, "moderate", note="15"),
    ex("qids_sr16", [0, 0, 0, 3, 3, 3, 0, 0, 0, 3, 3, 0, 0, 1, 0, 0], 16, "severe", note="16"),
    ex("qids_sr16", [0, 3, 0, 0, 3, 0, 0, 3, 0, 3, 3, 0, 3, 2, 0, 0], 20, "severe", note="20"),
    ex(
        "qids_sr16",
        [0, 3, 0, 0, 3, 0, 0, 3, 0, 3, 3, 0, 3, 2, 0, 1],
        21,
        "very_severe",
        note="21",
        cli=True,
    ),
    # AUDIT-C: 3 x 0-4, sum 0-12, no bands; positive >= 4 men, >= 3 women.
    ex("auditc", [0, 0, 0], 0, None, sex="female", note="min"),
    ex("auditc", [0, 0, 0], 0, None, sex="male", note="min"),
    ex("auditc", [1, 1, 0], 2, None, sex="female", note="2"),
    ex("auditc", [1, 1, 1], 3, None, POS, sex="female", note="3", cli=True),
    ex("auditc", [1, 1, 1], 3, None, sex="male", note="3", cli=True),
    ex("auditc", [2, 1, 1], 4, None, POS, sex="female", note="4"),
    ex("auditc", [2, 1, 1], 4, None, POS, sex="male", note="4", cli=True),
    ex("auditc", [0, 0, 4], 4, None, POS, sex="male", note="4-from-one-item"),
    ex("auditc", [4, 4, 4], 12, None, POS, sex="female", note="max"),
    ex("auditc", [4, 4, 4], 12, None, POS, sex="male", note="max"),
    # DAST-10: 10 yes(1)/no(0), item 3 reverse-scored ("no" scores 1), 0-10; bands after the
    # DAST-10 guideline cited in the data file: none 0, low 1-2, moderate 3-5, substantial 6-8,
    # severe 9-10; positive_screen at >= 3 (further assessment).
    ex(
        "dast10",
        [0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
        0,
        "none",
        note="min-item3-yes-scores-0",
        cli=True,
        item_scores=(0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    ),
    ex(
        "dast10",
        [0] * 10,
        1,
        "low",
        note="all-no-item3-no-scores-1",
        cli=True,
        item_scores=(0, 0, 1, 0, 0, 0, 0, 0, 0, 0),
    ),
    ex("dast10", [0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 2, "low", note="item10-yes-item3-no"),
    ex("dast10", [1, 1, 1, 0, 0, 0, 0, 0, 0, 0], 2, "low", note="2"),
    ex("dast10", [1, 1, 0, 0, 0, 0, 0, 0, 0, 0], 3, "moderate", POS, note="3", cli=True),
    ex("dast10", [1, 1, 0, 1, 1, 0, 0, 0, 0, 0], 5, "moderate", POS, note="5"),
    ex("dast10", [1, 1, 0, 1, 1, 1, 0, 0, 0, 0], 6, "substantial", POS, note="6"),
    ex("dast10", [1, 1, 0, 1, 1, 1, 1, 1, 0, 0], 8, "substantial", POS, note="8"),
    ex("dast10", [1] * 10, 9, "severe", POS, note="all-yes-is-9"),
    ex("dast10", [1, 1, 0, 1, 1, 1, 1, 1, 1, 1], 10, "severe", POS, note="max", cli=True),
    # C-SSRS screener: 7 yes/no items (Q1..Q5, Q6 ever, Q6 within the past 3 months); not
    # summed; risk = highest positive item: Q1/Q2 low, Q3 moderate, Q6 lifetime only moderate,
    # Q4, Q5 or Q6 within 3 months high; all no -> "none" with no flag. Q3-5 are asked only
    # after a yes to Q2 (and Q6 within 3 months only after Q6): not asked counts as no.
    ex("cssrs_screen", [0] * 7, None, "none", note="all-no", cli=True),
    ex("cssrs_screen", [1, 0, 0, 0, 0, 0, 0], None, "low", "risk_low", note="q1", cli=True),
    ex("cssrs_screen", [0, 1, 0, 0, 0, 0, 0], None, "low", "risk_low", note="q2"),
    ex("cssrs_screen", [1, 1, 0, 0, 0, 0, 0], None, "low", "risk_low", note="q1-q2"),
    ex("cssrs_screen", [0, 1, 1, 0, 0, 0, 0], None, "moderate", "risk_moderate", note="q2-q3"),
    ex(
        "cssrs_screen",
        [1, 1, 1, 0, 0, 0, 0],
        None,
        "moderate",
        "risk_moderate",
        note="q1-q3",
        cli=True,
    ),
    ex(
        "cssrs_screen",
        [0, 0, 0, 0, 0, 1, 0],
        None,
        "moderate",
        "risk_moderate",
        note="q6-lifetime-only",
        cli=True,
    ),
    ex(
        "cssrs_screen",
        [1, 1, 1, 0, 0, 1, 0],
        None,
        "moderate",
        "risk_moderate",
        note="q1-q3-q6-lifetime",
    ),
    ex("cssrs_screen", [0, 1, 0, 1, 0, 0, 0], None, "high", "risk_high", note="q2-q4"),
    ex("cssrs_screen", [0, 1, 0, 0, 1, 0, 0], None, "high", "risk_high", note="q2-q5"),
    ex(
        "cssrs_screen",
        [0, 0, 0, 0, 0, 1, 1],
        None,
        "high",
        "risk_high",
        note="q6-within-3-months",
        cli=True,
    ),
    ex("cssrs_screen", [1] * 7, None, "high", "risk_high", note="all-yes"),
    # MADRS: 10 x 0-6, sum 0-60; none 0-6, mild 7-19, moderate 20-34, severe 35-60; item 10
    # (suicidal thoughts) >= 4 raises suicidal_ideation (clinic-policy default, reference §7).
    ex("madrs", [0] * 10, 0, "none", note="min"),
    ex("madrs", [1, 1, 1, 1, 1, 1, 0, 0, 0, 0], 6, "none", note="6"),
    ex("madrs", [6, 0, 0, 0, 0, 0, 0, 0, 0, 0], 6, "none", note="6-one-item"),
    ex("madrs", [1, 1, 1, 1, 1, 1, 1, 0, 0, 0], 7, "mild", note="7", cli=True),
    ex("madrs", [2, 2, 2, 2, 2, 2, 2, 2, 2, 1], 19, "mild", note="19"),
    ex("madrs", [2] * 10, 20, "moderate", note="20"),
    ex("madrs", [4, 4, 4, 4, 4, 4, 4, 4, 1, 1], 34, "moderate", note="34", cli=True),
    ex("madrs", [4, 4, 4, 4, 4, 4, 4, 4, 2, 1], 35, "severe", note="35"),
    ex("madrs", [6] * 10, 60, "severe", SI, note="max"),
    ex("madrs", rated(10, {10: 3}), 3, "none", note="item10-is-3", cli=True),
    ex("madrs", rated(10, {10: 4}), 4, "none", SI, note="item10-is-4", cli=True),
    ex("madrs", rated(10, {9: 6}, rest=3), 33, "moderate", note="item9-is-not-item10"),
    # Y-BOCS: 10 x 0-4, sum 0-40, obsessions 1-5, compulsions 6-10; subclinical 0-7,
    # mild 8-15, moderate 16-23, severe 24-31, extreme 32-40.
    ex(
        "ybocs",
        [0] * 10,
        0,
        "subclinical",
        note="min",
        subscales={"obsessions": 0, "compulsions": 0},
    ),
    ex(
        "ybocs",
        [4, 3, 0, 0, 0, 0, 0, 0, 0, 0],
        7,
        "subclinical",
        note="7",
        subscales={"obsessions": 7, "compulsions": 0},
    ),
    ex(
        "ybocs",
        [0, 0, 0, 0, 0, 4, 4, 0, 0, 0],
        8,
        "mild",
        note="8",
        cli=True,
        subscales={"obsessions": 0, "compulsions": 8},
    ),
    ex(
        "ybocs",
        [0, 0, 0, 0, 4, 4, 0, 0, 0, 0],
        8,
        "mild",
        note="items-5-and-6-split",
        subscales={"obsessions": 4, "compulsions": 4},
    ),
    ex(
        "ybocs",
        [3, 3, 3, 3, 3, 0, 0, 0, 0, 0],
        15,
        "mild",
        note="15",
        subscales={"obsessions": 15, "compulsions": 0},
    ),
    ex(
        "ybocs",
        [2, 2, 2, 2, 2, 2, 2, 1, 1, 0],
        16,
        "moderate",
        note="16",
        subscales={"obsessions": 10, "compulsions": 6},
    ),
    ex(
        "ybocs",
        [3, 3, 3, 3, 3, 2, 2, 2, 1, 1],
        23,
        "moderate",
        note="23",
        subscales={"obsessions": 15, "compulsions": 8},
    ),
    ex(
        "ybocs",
        [3, 3, 3, 3, 3, 2, 2, 2, 2, 1],
        24,
        "severe",
        note="24",
        cli=True,
        subscales={"obsessions": 15, "compulsions": 9},
    ),
    ex(
        "ybocs",
        [4, 4, 4, 4, 4, 3, 3, 3, 1, 1],
        31,
        "severe",
        note="31",
        subscales={"obsessions": 20, "compulsions": 11},
    ),
    ex(
        "ybocs",
        [4, 4, 4, 4, 4, 3, 3, 3, 2, 1],
        32,
        "extreme",
        note="32",
        subscales={"obsessions": 20, "compulsions": 12},
    ),
    ex(
        "ybocs",
        [4] * 10,
        40,
        "extreme",
        note="max",
        subscales={"obsessions": 20, "compulsions": 20},
    ),
    # CADSS: 23 x 0-4, sum 0-92, no bands or flags; CADSS-6 = items 1, 2, 6, 7, 15, 22.
    ex("cadss", [0] * 23, 0, None, note="min", subscales={"cadss6": 0}),
    ex("cadss", [4] * 23, 92, None, note="max", cli=True, subscales={"cadss6": 24}),
    ex(
        "cadss",
        rated(23, items(CADSS6, 4)),
        24,
        None,
        note="only-cadss6-items",
        cli=True,
        subscales={"cadss6": 24},
    ),
    ex(
        "cadss",
        rated(23, items(CADSS6, 0), rest=4),
        68,
        None,
        note="all-but-cadss6-items",
        subscales={"cadss6": 0},
    ),
    ex(
        "cadss",
        [n % 5 for n in range(1, 24)],
        46,
        None,
        note="n-mod-5-pattern",
        subscales={"cadss6": 8},
    ),
    ex("cadss", rated(23, {22: 4}), 4, None, note="item-22-in", subscales={"cadss6": 4}),
    ex("cadss", rated(23, {23: 4}), 4, None, note="item-23-out", subscales={"cadss6": 0}),
    # MOAA/S: one observer rating 0-5; sedation when < 5.
    ex("moaas", [5], 5, None, note="alert", cli=True),
    ex("moaas", [4], 4, None, "sedation", note="4-sedation", cli=True),
    ex("moaas", [3], 3, None, "sedation", note="3"),
    ex("moaas", [0], 0, None, "sedation", note="min"),
]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_python_api_agrees_with_hand_computed_example(example):
    result = score(get(example.instrument), list(example.answers), sex=example.sex)
    assert result.instrument == example.instrument
    assert result.total == example.total
    assert result.severity == example.severity
    assert set(result.flags) == example.flags
    assert len(result.flags) == len(set(result.flags)), "a flag is raised twice"
    if example.subscales is not None:
        assert result.subscales == example.subscales
    if example.item_scores is not None:
        assert result.item_scores == example.item_scores


def test_the_table_has_examples_for_every_instrument_and_nothing_else():
    assert set(INSTRUMENT_IDS) == ALL_INSTRUMENTS
    assert {e.instrument for e in EXAMPLES} == ALL_INSTRUMENTS
    assert {e.instrument for e in EXAMPLES if e.cli} == ALL_INSTRUMENTS
    assert len({e.id for e in EXAMPLES}) == len(EXAMPLES), "example ids must be unique"


# What the reference says about each instrument's shape: number of items, item range,
# total range (None: not summed) and severity bands (None: the reference names none).
REFERENCE = {
    "phq9": (
        9,
        (0, 3),
        (0, 27),
        [
            ("minimal", 0, 4),
            ("mild", 5, 9),
            ("moderate", 10, 14),
            ("moderately_severe", 15, 19),
            ("severe", 20, 27),
        ],
    ),
    "gad7": (
        7,
        (0, 3),
        (0, 21),
        [("minimal", 0, 4), ("mild", 5, 9), ("moderate", 10, 14), ("severe", 15, 21)],
    ),
    "pcl5": (20, (0, 4), (0, 80), []),
    "qids_sr16": (
        16,
        (0, 3),
        (0, 27),
        [
            ("none", 0, 5),
            ("mild", 6, 10),
            ("moderate", 11, 15),
            ("severe", 16, 20),
            ("very_severe", 21, 27),
        ],
    ),
    "auditc": (3, (0, 4), (0, 12), []),
    # The reference gives only ">= 3 further assessment, >= 6 substantial problem"; the five
    # bands are the DAST-10 guideline's, cited [secondary] in the data file.
    "dast10": (
        10,
        (0, 1),
        (0, 10),
        [
            ("none", 0, 0),
            ("low", 1, 2),
            ("moderate", 3, 5),
            ("substantial", 6, 8),
            ("severe", 9, 10),
        ],
    ),
    # Six questions, Q6 asked "ever" and "within the past 3 months": seven yes/no answers.
    "cssrs_screen": (7, (0, 1), None, []),
    "madrs": (
        10,
        (0, 6),
        (0, 60),
        [("none", 0, 6), ("mild", 7, 19), ("moderate", 20, 34), ("severe", 35, 60)],
    ),
    "ybocs": (
        10,
        (0, 4),
        (0, 40),
        [
            ("subclinical", 0, 7),
            ("mild", 8, 15),
            ("moderate", 16, 23),
            ("severe", 24, 31),
            ("extreme", 32, 40),
        ],
    ),
    "cadss": (23, (0, 4), (0, 92), []),
    "moaas": (1, (0, 5), (0, 5), []),
}


@pytest.mark.parametrize("instrument_id", sorted(REFERENCE))
def test_data_file_shape_matches_the_reference(instrument_id):
    n_items, (low, high), total_range, bands = REFERENCE[instrument_id]
    instrument = get(instrument_id)
    assert instrument.id == instrument_id
    assert instrument.source
    assert len(instrument.items) == n_items
    assert [item.number for item in instrument.items] == list(range(1, n_items + 1))
    for item in instrument.items:
        assert [o.value for o in item.options] == list(range(low, high + 1)), item.number
    assert instrument.total_range == total_range
    assert [(b.id, b.min, b.max) for b in instrument.bands] == bands


@pytest.mark.parametrize("instrument_id", [i for i, ref in REFERENCE.items() if ref[3]])
def test_every_band_boundary_has_a_hand_computed_example_on_both_sides(instrument_id):
    totals = {e.total for e in EXAMPLES if e.instrument == instrument_id}
    for _band, low, high in REFERENCE[instrument_id][3]:
        assert {low, high} <= totals, f"{instrument_id}: no example at {low} or {high}"


def test_band_for_at_every_reference_boundary():
    for instrument_id, (_n, _r, _t, bands) in REFERENCE.items():
        instrument = get(instrument_id)
        for band, low, high in bands:
            assert instrument.band_for(low) == band
            assert instrument.band_for(high) == band
        if bands:
            assert instrument.band_for(bands[0][1] - 1) is None
            assert instrument.band_for(bands[-1][2] + 1) is None


# Response / remission / change thresholds as the reference states them.
REFERENCE_OUTCOMES = {
    "phq9": {"response_drop_percent": 50, "remission_max": 4, "mcid": 5},  # remission < 5
    "gad7": {"mcid": 4},
    "pcl5": {"reliable_change": 5, "mcid": 10},
    "qids_sr16": {"response_drop_percent": 50, "remission_max": 5},
    "madrs": {"response_drop_percent": 50, "remission_max": 10},
    "ybocs": {"response_drop_percent": 35},
}


@pytest.mark.parametrize("instrument_id", sorted(REFERENCE_OUTCOMES))
def test_outcome_thresholds_match_the_reference(instrument_id):
    outcomes = get(instrument_id).outcomes
    assert outcomes is not None
    assert outcomes.source
    for name, value in REFERENCE_OUTCOMES[instrument_id].items():
        assert getattr(outcomes, name) == value, name


def test_phq9_and_gad7_loinc_codes_match_the_reference():
    phq9 = get("phq9")
    assert (phq9.loinc_panel, phq9.loinc_total) == ("44249-1", "44261-6")
    assert [item.loinc for item in phq9.items] == [
        "44250-9",
        "44255-8",
        "44259-0",
        "44254-1",
        "44251-7",
        "44258-2",
        "44252-5",
        "44253-3",
        "44260-8",
    ]
    answer_codes = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
    assert all([o.loinc for o in item.options] == answer_codes for item in phq9.items)
    gad7 = get("gad7")
    assert (gad7.loinc_panel, gad7.loinc_total) == ("69737-5", "70274-6")
    assert gad7.items[0].options[0].label == "Not at all"


# --- errors the hand-computed table cannot show -------------------------------------------


@pytest.mark.parametrize("item", [3, 4, 5])
def test_cssrs_q3_to_q5_cannot_be_yes_after_a_no_to_q2(item):
    answers = [1, 0, 0, 0, 0, 0, 0]
    answers[item - 1] = 1
    with pytest.raises(AnswerError, match=rf"item {item} \(Q{item}\) is asked only after a yes"):
        score(get("cssrs_screen"), answers)


@pytest.mark.parametrize("item", [3, 4, 5])
def test_cssrs_q3_to_q5_may_be_yes_after_a_yes_to_q2(item):
    answers = [0, 1, 0, 0, 0, 0, 0]
    answers[item - 1] = 1
    assert score(get("cssrs_screen"), answers).severity in ("moderate", "high")


def test_cssrs_q6_within_3_months_without_q6_is_an_error():
    with pytest.raises(AnswerError, match=r"item 7\b.*item 6\b"):
        score(get("cssrs_screen"), [0, 0, 0, 0, 0, 0, 1])


def test_cssrs_q6_within_3_months_error_comes_even_with_other_yes_answers():
    with pytest.raises(AnswerError, match=r"item 7\b"):
        score(get("cssrs_screen"), [1, 1, 1, 1, 1, 0, 1])


@pytest.mark.parametrize("sex", [None, "", "Female", "other"])
def test_auditc_needs_female_or_male(sex):
    with pytest.raises(AnswerError, match="sex"):
        score(get("auditc"), [1, 1, 1], sex=sex)


def test_sex_makes_no_difference_outside_auditc():
    answers = [1, 1, 1, 1, 1, 0, 0, 0, 0]
    assert score(get("phq9"), answers, sex="female") == score(get("phq9"), answers, sex="male")
    assert score(get("phq9"), answers) == score(get("phq9"), answers, sex="female")


def test_moaas_above_5_is_out_of_range():
    with pytest.raises(AnswerError, match=r"item 1\b.*0–5"):
        score(get("moaas"), [6])


def test_dast10_answer_2_is_out_of_range_even_on_the_reverse_item():
    with pytest.raises(AnswerError, match=r"item 3\b.*0–1"):
        score(get("dast10"), [0, 0, 2, 0, 0, 0, 0, 0, 0, 0])


def test_score_as_dict_is_what_the_cli_prints():
    result = score(get("ybocs"), [3, 3, 3, 3, 3, 2, 2, 2, 2, 1])
    assert result.as_dict() == {
        "instrument": "ybocs",
        "total": 24,
        "severity": "severe",
        "flags": [],
        "item_scores": [3, 3, 3, 3, 3, 2, 2, 2, 2, 1],
        "subscales": {"obsessions": 15, "compulsions": 9},
    }
