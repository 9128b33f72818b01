# Counts a last pooling window that runs past the edge (ceiling instead of floor), and so every pooled count built on it.


def pool_output_size(n, size, stride):
    if size > n:
        raise ValueError(f"a window of {size} does not fit in {n} entries")
    return -(-(n - size) // stride) + 1
