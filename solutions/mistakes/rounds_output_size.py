# The output size rounded to the nearest integer rather than down: a stride that leaves part of a
# step over counts it as a whole step from halfway on (and Python's round() takes halves to even).


def conv_output_size(size_in, kernel_size, stride=1, padding=0):
    padded = size_in + 2 * padding
    if kernel_size > padded:
        raise ValueError("kernel larger than the padded input")
    return round((padded - kernel_size) / stride) + 1
