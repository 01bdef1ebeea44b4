"""The shared asyncio kit: small concurrency helpers that several layers use.

One module per kit, each standing alone (an import-linter ``independence``
contract keeps them apart, another keeps ``engine.aio`` from importing the
rest of ``engine``), so any layer may use any of them:

- ``crash``: a done-callback that logs a task which died of an exception.
- ``owned``: ``OwnedTasks``, tasks started on the loop, tracked until they end and awaited on close.
- ``done``: ``Done``, a set-once event lighter than ``asyncio.Event``.
- ``ids``: ``UuidFactory``, version-4 UUID strings from an injected random source.
- ``scopes``: ``cancel_scope``, a new anyio cancel scope without the per-call backend look-up.
- ``random``: ``LazyRandom``, a seeded random source that seeds itself on the first draw.
- ``slots``: ``RequestSlots``, a FIFO semaphore whose queued waiters keep only a future.
- ``background``: ``BackgroundTasks``, a guarded task group for an owner's long-lived tasks,
  hosted in a task of its own.

Nothing is re-exported here: import each kit from its own module.
"""
