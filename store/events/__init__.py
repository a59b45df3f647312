"""The live event path: a profile change → events → delivery reactions → entitlements and notices.

- `store.events.apply`: apply one profile change (or a whole new profile) in one transaction.
- `store.events.values`: read `FACT=VALUE` text by the fact's declared type.
- `store.events.deadlines`: turn due deadlines into events, once.
"""
