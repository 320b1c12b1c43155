"""Medical record numbers: a per-clinic sequence with a Luhn check digit, so that a mistyped
MRN is caught rather than opening the wrong chart."""


def luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def format_mrn(sequence: int) -> str:
    body = f"{sequence:07d}"
    return body + luhn_digit(body)


def is_valid_mrn(mrn: str) -> bool:
    return mrn.isdigit() and len(mrn) >= 2 and luhn_digit(mrn[:-1]) == mrn[-1]
