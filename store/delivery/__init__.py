"""Delivery, the store's side: subscriptions, the outbox's claims and records, secrets.

secrets.py        webhook secrets encrypted at rest (Fernet; `ZHIDA_SECRET_KEY` or a key file)
labels.py         what each kind of notice is called (CLI and console)
retry.py          the retry schedule (Standard Webhooks) and its jitter
webhooks.py       Standard Webhooks secrets and signatures; which URLs may be called
registration.py   checking and storing a subscription (targets, secrets, rotation)
subscriptions.py  who hears about which subject, on which channel
outbox.py         the drain's transactions: claim with a lease, fan out, record, replay
views.py          what `zhida notices list/show` read
"""
