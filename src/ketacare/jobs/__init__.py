"""The job queue: work done outside a request (the hourly questionnaire dispatch, and what
issue 15 adds: reminders, checkpoints, exports), on django-tasks' database backend, with
ketacare's retries, periodic jobs and the failed-jobs page (decision 0115)."""
