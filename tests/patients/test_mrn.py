from ketacare.patients.mrn import format_mrn, is_valid_mrn


def test_mrn_has_a_check_digit_that_catches_typos():
    mrn = format_mrn(1234)
    assert mrn.startswith("0001234") and len(mrn) == 8
    assert is_valid_mrn(mrn)
    typo = mrn[:3] + str((int(mrn[3]) + 1) % 10) + mrn[4:]
    assert not is_valid_mrn(typo)
    swapped = mrn[:4] + mrn[5] + mrn[4] + mrn[6:]
    assert mrn == swapped or not is_valid_mrn(swapped)
