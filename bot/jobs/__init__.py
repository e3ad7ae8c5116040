"""Jobs on a cron schedule (the runbook's "Cronjob configurado"), claimed by one replica per slot.
Handlers declare jobs with `@scheduled`; app starts the scheduler. It may use incidents (to post
to the incident channel), procedures, core and below; never handlers, app or the adapters.
"""
