"""The appointment book: a clinic's chairs, opening hours, closures and staff shifts, payer
authorisations, and the appointments booked in them with their history (issue 15). Every
change is an action in ``scheduling.actions``; the booking rules that need no database live in
``scheduling.rules``."""
