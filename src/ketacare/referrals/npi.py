"""The National Provider Identifier's check digit: a pure rule, no Django.

source: CMS, "Requirements for National Provider Identifier (NPI) and NPI Check Digit"
(https://www.cms.gov/Regulations-and-Guidance/Administrative-Simplification/NationalProvidentIdentStand/Downloads/NPIcheckdigit.pdf):
an NPI is 10 digits whose last is the Luhn (ISO/IEC 7812) check digit of the first nine
prefixed by 80840 (the health-industry issuer prefix of an identification card)."""

NPI_PREFIX = "80840"


def luhn_check_digit(payload: str) -> int:
    """The digit that, appended to ``payload``, makes the Luhn sum a multiple of ten."""
    total = 0
    # Doubling starts at the rightmost payload digit (the check digit will sit to its right).
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def is_valid_npi(value: str) -> bool:
    """Ten ASCII digits whose last is the CMS check digit of the other nine."""
    if len(value) != 10 or not (value.isascii() and value.isdigit()):
        return False
    return luhn_check_digit(NPI_PREFIX + value[:9]) == int(value[9])
