"""A saved index of kept documents: incremental dedup runs, lookups and the lookup service.

    format.py   the on-disk layout (segments of memory-mapped arrays, a manifest, frozen weights)
    build.py    an index from a finished dedup run; appending a later run's kept documents
    query.py    looking documents up: the same rule as semel.grouping, against indexed documents
    against.py  `semel dedup NEW --against INDEX`: reason `seen`
    wal.py      the write-ahead log of documents added to a served index
    live.py     an index taking additions while answering lookups (semel serve)
"""
