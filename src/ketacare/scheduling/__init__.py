"""The appointment book: a clinic's chairs, opening hours, closures and staff shifts, payer
authorisations, and the appointments booked in them with their history (issue 15). Every
change is an action in ``scheduling.actions``; the booking rules, pure functions with no
Django (decision 0116), live in ``scheduling.rules``."""
