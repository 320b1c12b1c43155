"""The planning pages: the worklist and a patient's planning (``worklist``), the pre-treatment
evaluation (``evaluation``), eligibility overrides and the clinic's rules (``eligibility``), and
the treatment plan with its schedule and concentration chart (``plan``)."""
