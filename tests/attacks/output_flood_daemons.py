# Attack: four children that write to the worker's output pipe as fast as they can, forever,
# while the worker answers everything right. The grader must neither hang draining the pipe nor
# keep more than its cap: the submission scores 100 in normal time and no writer is left.
import os

for _ in range(4):
    if os.fork() == 0:
        _chunk = b"x" * 65536
        while True:
            os.write(2, _chunk)
