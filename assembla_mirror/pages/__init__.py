"""The page path: one answer's bytes turned into rows, in this process or a worker.

Pure (bytes in, rows out): it imports the model and the JSON list reader, never
HTTP or database code, so a worker process loading it sees neither.
"""
