"""The job outbox's workers: what a change leaves to do after its transaction (an e-mail with its
PDF) is a row of `jobs`, written in that transaction (store/jobs.py); workers claim due jobs,
run them, and finish them or put them back for a retry with backoff, keeping the last error.

- `worker.py`: the worker threads (`ixserver serve` starts IXSERVER_JOB_WORKERS per server
  process; `ixserver worker` runs them on their own).
- `email.py`: sending a document by e-mail (SMTP, or the sandbox's sink).
"""
