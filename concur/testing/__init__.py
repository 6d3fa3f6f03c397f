"""The spec's instruments, kept apart from the chapter's code as ``trio.testing`` is from trio.

``framelog`` records where and when each spinner frame was written; ``measure`` reads CPU time
with psutil; ``units`` holds the small jobs that a child process imports by name.
"""
