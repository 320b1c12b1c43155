"""The appointment book: chairs, staff shifts and appointments, booked from the plan."""
