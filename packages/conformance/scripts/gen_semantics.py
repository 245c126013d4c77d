"""Golden programs for PyTorch's storage semantics: views that alias, in-place ops through
views, versions, detach and no_grad, and the errors PyTorch raises for them.

Each program starts from a leaf `a` (requires_grad) and `b = a * 1`; its steps make views of
tensors, run in-place ops on them and compute new tensors. PyTorch runs it here; the fixture
keeps the final value of every named tensor, the gradient of `a` from a loss over the tensors
that require grad, and, where PyTorch raises, the step and its message. fusor runs the same
program on each backend (packages/conformance/src/semantics.ts).

    /usr/bin/python3 packages/conformance/scripts/gen_semantics.py

writes packages/conformance/programs/semantics.json, semantics-indexing.json and semantics-views.json.
Deterministic (seeded).
"""
import json
import os
import random

import torch

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(__file__), '..', 'programs', 'semantics.json')
OUT_INDEXING = os.path.join(os.path.dirname(__file__), '..', 'programs', 'semantics-indexing.json')
OUT_VIEWS = os.path.join(os.path.dirname(__file__), '..', 'programs', 'semantics-views.json')


def run(program):
    """Runs a program in PyTorch; returns the fixture record."""
    shape = program['shape']
    data = program['data']
    # a leaf that is no view (a reshape's result would be one, of a base that needs no grad)
    a = torch.tensor(data, dtype=torch.float32).reshape(shape).clone().requires_grad_()
    env = {'a': a, 'b': a * 1}
    for i, step in enumerate(program['steps']):
        try:
            apply(env, step)
        except RuntimeError as e:
            return {'errorAt': i, 'error': str(e).split('\n')[0]}
    return finish(env, program)


def finish(env, program):
    names = [n for n in env if n != 'a']
    values = {n: env[n].detach().reshape(-1).tolist() for n in names}
    shapes = {n: list(env[n].shape) for n in names}
    versions = {n: env[n]._version for n in names}
    in_loss = [n for n in names if env[n].requires_grad]
    rec = {'values': values, 'shapes': shapes, 'versions': versions, 'loss': in_loss}
    if in_loss:
        try:
            loss = sum((env[n] * coef(env[n].shape)).sum() for n in in_loss)
            loss.backward()
        except RuntimeError as e:
            rec['backwardError'] = str(e).split('\n')[0]
            return rec
        rec['grad'] = env['a'].grad.reshape(-1).tolist() if env['a'].grad is not None else None
    return rec


def coef(shape):
    """The loss weights of a tensor: 1, 2, 3, … wrapped at 7, so every element's gradient differs."""
    n = 1
    for d in shape:
        n *= d
    return (torch.arange(n, dtype=torch.float32) % 7 + 1).reshape(shape)


def apply(env, step):
    kind = step[0]
    if kind == 'view':
        _, dst, src, op, args = step
        x = env[src]
        env[dst] = view(x, op, args)
    elif kind == 'inplace':
        _, target, op, args = step
        x = env[target]
        if op == 'mul_':
            x.mul_(args[0])
        elif op == 'add_':
            x.add_(args[0])
        elif op == 'zero_':
            x.zero_()
        elif op == 'fill_':
            x.fill_(args[0])
        elif op == 'neg_':
            x.neg_()
        elif op == 'clamp_':
            x.clamp_(args[0], args[1])
        elif op == 'copy_':
            x.copy_(env[args[0]])
        elif op == 'addt_':
            x.add_(env[args[0]])
        elif op == 'mult_':
            x.mul_(env[args[0]])
        elif op == 'sigmoid_':
            x.sigmoid_()
        elif op == 'relu_':
            x.relu_()
        elif op == 'subt_':
            x.sub_(env[args[0]])
        elif op == 'nograd_mul_':
            with torch.no_grad():
                x.mul_(args[0])
        else:
            raise ValueError(op)
    elif kind == 'index':
        _, dst, src, specs = step
        env[dst] = env[src][decode_specs(specs)]
    elif kind == 'setitem':
        _, target, specs, value = step
        # a string names a tensor of the program (its gradient flows into the written one)
        env[target][decode_specs(specs)] = env[value] if isinstance(value, str) else value
    elif kind == 'compute':
        _, dst, op, srcs = step
        xs = [env[s] for s in srcs]
        if op == 'mul':
            env[dst] = xs[0] * xs[1]
        elif op == 'add':
            env[dst] = xs[0] + xs[1]
        elif op == 'sigmoid':
            env[dst] = xs[0].sigmoid()
        elif op == 'exp':
            env[dst] = xs[0].exp()
        elif op == 'scale':
            env[dst] = xs[0] * 3
        elif op == 'clone':
            env[dst] = xs[0].clone()
        elif op == 'nograd_scale':
            with torch.no_grad():
                env[dst] = xs[0] * 2
        elif op == 'detach':
            env[dst] = xs[0].detach()
        elif op == 'contiguous':
            env[dst] = xs[0].contiguous()
        else:
            raise ValueError(op)
    else:
        raise ValueError(kind)


def decode_specs(specs):
    """An index as the fixture writes it: ints, {"s": [start, stop, step]}, {"t": [ints]}, None, "..."."""
    out = []
    for sp in specs:
        if isinstance(sp, dict) and 's' in sp:
            out.append(slice(*sp['s']))
        elif isinstance(sp, dict) and 't' in sp:
            out.append(torch.tensor(sp['t'], dtype=torch.long))
        elif sp == '...':
            out.append(Ellipsis)
        else:
            out.append(sp)
    return tuple(out)


def rand_index(rng, x):
    """A random Python-style index of x: ints, slices, one or two integer-array indices, None."""
    nd = x.dim()
    if nd == 0:
        return None
    shape = list(x.shape)
    specs = []
    arrays = 0
    index_shape = [rng.randint(1, 3)] if rng.random() < 0.7 else [rng.randint(1, 2), rng.randint(1, 2)]
    for d in range(rng.randint(1, nd)):
        r = rng.random()
        n = shape[d]
        if n == 0:
            specs.append({'s': [None, None, 1]})
        elif r < 0.3:
            specs.append(rng.randrange(-n, n))
        elif r < 0.55:
            specs.append({'s': [rng.randrange(0, n), None, rng.choice([1, 2])]})
        elif arrays < 2:
            arrays += 1
            count = 1
            for k in index_shape:
                count *= k
            flat = [rng.randrange(-n, n) for _ in range(count)]
            specs.append({'t': flat if len(index_shape) == 1 else [flat[i * index_shape[1]:(i + 1) * index_shape[1]] for i in range(index_shape[0])]})
        else:
            specs.append({'s': [None, None, 1]})
    if rng.random() < 0.15:
        specs.insert(rng.randrange(len(specs) + 1), None)
    return specs


def view(x, op, args):
    if op == 'select':
        return x.select(*args)
    if op == 'narrow':
        return x.narrow(*args)
    if op == 'slice':
        dim, start, stop, step = args
        idx = [slice(None)] * x.dim()
        idx[dim] = slice(start, stop, step)
        return x[tuple(idx)]
    if op == 'transpose':
        return x.transpose(*args)
    if op == 'permute':
        return x.permute(*args)
    if op == 'unsqueeze':
        return x.unsqueeze(*args)
    if op == 'squeeze':
        return x.squeeze(*args)
    if op == 'view':
        return x.view(*args)
    if op == 'reshape':
        return x.reshape(*args)
    if op == 't':
        return x.t()
    if op == 'flatten':
        return x.flatten(*args)
    if op == 'expand':
        return x.expand(*args)
    if op == 'unbind':
        return x.unbind(args[0])[args[1]]
    if op == 'split':
        return x.split(args[0], args[1])[args[2]]
    if op == 'chunk':
        return x.chunk(args[0], args[1])[args[2]]
    if op == 'diagonal':
        return x.diagonal(*args)
    if op == 'swapaxes':
        return x.swapaxes(*args)
    if op == 'T':
        return x.T
    if op == 'mT':
        return x.mT
    if op == 'unfold':
        return x.unfold(*args)
    raise ValueError(op)


# ------------------------------------------------------------------------------------- random programs


def rand_view(rng, x, extra=False):
    """A random view op valid for x's shape, or None."""
    nd = x.dim()
    shape = list(x.shape)
    choices = []
    if extra and nd >= 2:
        d0, d1 = rng.sample(range(nd), 2)
        choices.append(('diagonal', [rng.randint(-2, 2), d0, d1]))
        choices.append(('swapaxes', [d0, d1]))
        choices.append(('mT', []))
        if nd == 2:
            choices.append(('T', []))
    if extra and nd >= 1:
        d = rng.randrange(nd)
        if shape[d] > 0:
            size = rng.randint(1, shape[d])
            # windows that do not overlap: an in-place op through overlapping ones races in PyTorch
            choices.append(('unfold', [d, size, rng.randint(size, size + 1)]))
    if nd >= 1:
        d = rng.randrange(nd)
        if shape[d] > 0:
            choices.append(('select', [d, rng.randrange(-shape[d], shape[d])]))
            s = rng.randrange(shape[d])
            choices.append(('narrow', [d, s, rng.randrange(0, shape[d] - s + 1)]))
            start = rng.randrange(-shape[d], shape[d])
            choices.append(('slice', [d, start, rng.choice([None, shape[d], start + 2]), rng.choice([1, 2, 3])]))
    if nd >= 2:
        d0, d1 = rng.sample(range(nd), 2)
        choices.append(('transpose', [d0, d1]))
        perm = list(range(nd))
        rng.shuffle(perm)
        choices.append(('permute', perm))
        choices.append(('flatten', [0, -1]))
    if nd == 2:
        choices.append(('t', []))
    if nd <= 3:
        choices.append(('unsqueeze', [rng.randrange(-nd - 1, nd + 1)]))
    if 1 in shape:
        choices.append(('squeeze', [shape.index(1)]))
    numel = x.numel()
    if numel > 0:
        choices.append(('view', [-1]))
        choices.append(('reshape', [numel]))
        if numel % 2 == 0:
            choices.append(('view', [2, -1]))
            choices.append(('reshape', [-1, 2]))
    if nd >= 1 and 1 in shape:
        tgt = [s if s != 1 else 3 for s in shape]
        choices.append(('expand', tgt))
    if not choices:
        return None
    return rng.choice(choices)


INPLACE = [('mul_', lambda r: [r.choice([2, -1, 0.5])]), ('add_', lambda r: [r.choice([1, -2])]), ('zero_', lambda r: []),
           ('fill_', lambda r: [r.choice([5, -3])]), ('neg_', lambda r: []), ('clamp_', lambda r: [-0.5, 0.5])]
COMPUTE1 = ['sigmoid', 'exp', 'scale', 'clone', 'nograd_scale', 'detach', 'contiguous']


def dense(x):
    """PyTorch's is_non_overlapping_and_dense: the elements fill one block, each its own."""
    need = 1
    for d in sorted((d for d in range(x.dim()) if x.shape[d] != 1), key=lambda d: x.stride(d)):
        if x.stride(d) != need:
            return False
        need *= x.shape[d]
    return True


def racy(x, y):
    """Whether writing x from y reads elements the same op writes, in a layout PyTorch does not
    check (not dense): its result then depends on the order of the writes."""
    if x.numel() == 0 or y.numel() == 0 or x.storage().data_ptr() != y.storage().data_ptr():
        return False
    same = x.storage_offset() == y.storage_offset() and x.stride() == y.stride() and x.shape == y.shape
    return not same and not (dense(x) and dense(y))


INPLACE_EXTRA = [('relu_', lambda r: []), ('nograd_mul_', lambda r: [r.choice([2, -1])])]


def random_program(rng, k, prefix='random', index_bias=False, extra=False):
    """extra: diagonal, swapaxes, mT/T and unfold views, relu_, tensor sub_, in-place under no_grad
    (also on the leaf and its views), setitem with tensor values."""
    nd = rng.choice([1, 2, 2, 3])
    shape = [rng.randint(1, 4) for _ in range(nd)]
    n = 1
    for d in shape:
        n *= d
    data = [round(rng.uniform(-2, 2), 3) for _ in range(n)]
    steps = []
    env = {'a': torch.zeros(shape).requires_grad_(), 'b': torch.zeros(shape).requires_grad_() * 1}
    names = ['b']
    leaf_views = []
    for i in range(rng.randint(2, 7)):
        r = rng.random()
        src = rng.choice(names)
        x = env[src]
        step = None
        if extra and rng.random() < 0.15:
            # the leaf itself: views of it, and in-place ops on them under no_grad
            leaf = rng.choice(['a'] + leaf_views)
            if leaf == 'a' or rng.random() < 0.5:
                v = rand_view(rng, env[leaf], extra)
                step = ['view', f't{i}', leaf, v[0], v[1]] if v else None
            else:
                step = ['inplace', leaf, 'nograd_mul_', [rng.choice([2, -1])]]
            if step is None:
                continue
        elif index_bias and r < 0.6:
            specs = rand_index(rng, x)
            if specs is None:
                continue
            if r < 0.35:
                step = ['index', f't{i}', src, specs]
            else:
                value = rng.choice([0, 7, -1.5])
                if extra and rng.random() < 0.4:
                    value = rng.choice(names)
                step = ['setitem', src, specs, value]
        elif index_bias:
            r = (r - 0.6) / 0.4
        if step is not None:
            pass
        elif r < 0.45:
            v = rand_view(rng, x, extra)
            if v is None:
                continue
            dst = f't{i}'
            step = ['view', dst, src, v[0], v[1]]
        elif r < 0.8:
            if rng.random() < 0.25 and len(names) > 1:
                other = rng.choice(names)
                op = rng.choice(['copy_', 'addt_', 'mult_'] + (['subt_'] if extra else []))
                step = ['inplace', src, op, [other]]
            else:
                op, args = rng.choice(INPLACE + (INPLACE_EXTRA if extra else []))
                step = ['inplace', src, op, args(rng)]
        else:
            if rng.random() < 0.3 and len(names) > 1:
                other = rng.choice(names)
                dst = f't{i}'
                step = ['compute', dst, rng.choice(['mul', 'add']), [src, other]]
            else:
                dst = f't{i}'
                step = ['compute', dst, rng.choice(COMPUTE1), [src]]
        operand = step[3][0] if step[0] == 'inplace' and step[2] in ('copy_', 'addt_', 'mult_', 'subt_') else step[3] if step[0] == 'setitem' else None
        if extra and isinstance(operand, str) and racy(env[step[1]], env[operand]):
            continue
        try:
            apply(env, step)
        except RuntimeError:
            steps.append(step)  # PyTorch raises here: the program ends with that error
            break
        steps.append(step)
        if step[0] not in ('inplace', 'setitem'):
            # views of the leaf are kept apart: an in-place op on one under grad only raises
            (leaf_views if step[2] == 'a' or step[2] in leaf_views else names).append(step[1])
    return {'id': f'{prefix}/{k:03d}', 'shape': shape, 'data': data, 'steps': steps}


# ------------------------------------------------------------------------------------- the examples

EXAMPLES = [
    ('select then mul_ writes the base', [3, 4], [['view', 'v', 'b', 'select', [0, 1]], ['inplace', 'v', 'mul_', [10]]]),
    ('narrow then zero_ writes the base', [3, 4], [['view', 'v', 'b', 'narrow', [1, 0, 2]], ['inplace', 'v', 'zero_', []]]),
    ('index(:, 0) then fill_ writes the base', [3, 4], [['view', 'v', 'b', 'slice', [1, 0, 1, 1]], ['view', 'w', 'v', 'squeeze', [1]], ['inplace', 'w', 'fill_', [5]]]),
    ('a view taken before the base changes sees the change', [3, 4], [['view', 'v', 'b', 'select', [1, 2]], ['inplace', 'b', 'mul_', [2]]]),
    ('two views of one storage see each other', [4, 3], [['view', 'v', 'b', 'transpose', [0, 1]], ['view', 'w', 'b', 'select', [0, 0]], ['inplace', 'v', 'add_', [1]]]),
    ('a strided slice written in place', [6], [['view', 'v', 'b', 'slice', [0, 1, None, 2]], ['inplace', 'v', 'mul_', [-1]]]),
    ('a computed value keeps the old contents', [2, 3], [['compute', 'c', 'scale', ['b']], ['inplace', 'b', 'add_', [1]]]),
    ('detach shares storage; in-place on it shows in the original', [2, 3], [['compute', 'd', 'detach', ['b']], ['inplace', 'd', 'zero_', []]]),
    ('detach cuts the gradient', [3], [['compute', 'd', 'detach', ['b']], ['compute', 'p', 'mul', ['d', 'b']]]),
    ('no_grad cuts the gradient', [3], [['compute', 'n', 'nograd_scale', ['b']], ['compute', 'p', 'mul', ['n', 'b']]]),
    ('in-place through an expanded view raises', [1, 4], [['view', 'e', 'b', 'expand', [3, 4]], ['inplace', 'e', 'add_', [1]]]),
    ('view of a transposed tensor raises', [3, 4], [['view', 'v', 'b', 't', []], ['view', 'w', 'v', 'view', [12]]]),
    ('reshape of a transposed tensor copies', [3, 4], [['view', 'v', 'b', 't', []], ['view', 'w', 'v', 'reshape', [12]], ['inplace', 'w', 'zero_', []]]),
    ('sigmoid output modified in place fails backward', [3], [['compute', 'y', 'sigmoid', ['b']], ['inplace', 'y', 'mul_', [2]]]),
    ('exp output modified in place fails backward', [3], [['compute', 'y', 'exp', ['b']], ['inplace', 'y', 'add_', [1]]]),
    ('a view of a leaf modified in place raises', [3], [['view', 'v', 'a', 'select', [0, 1]], ['inplace', 'v', 'mul_', [2]]]),
    ('an unbind output modified in place raises', [2, 3], [['view', 'v', 'b', 'unbind', [0, 1]], ['inplace', 'v', 'mul_', [2]]]),
    ('copy_ into a view from another tensor', [2, 3], [['compute', 'c', 'scale', ['b']], ['view', 'v', 'b', 'select', [0, 0]], ['view', 'w', 'c', 'select', [0, 1]], ['inplace', 'v', 'copy_', ['w']]]),
    ('in-place through a view of a view', [2, 3, 4], [['view', 'v', 'b', 'select', [0, 1]], ['view', 'w', 'v', 'narrow', [1, 1, 2]], ['inplace', 'w', 'mul_', [3]]]),
    ('chains of in-place ops on a base and its views', [4, 4], [['view', 'r', 'b', 'select', [0, 2]], ['view', 'c', 'b', 'select', [1, 1]], ['inplace', 'r', 'mul_', [2]], ['inplace', 'c', 'add_', [1]], ['inplace', 'b', 'neg_', []]]),
    ('fill_ through an expanded view: allowed, backward raises', [4, 1], [['view', 'e', 'b', 'expand', [4, 3]], ['view', 'r', 'e', 'select', [0, 1]], ['inplace', 'r', 'fill_', [5]]]),
    ('setitem of a number through an expanded view', [4, 1], [['view', 'e', 'b', 'expand', [4, 3]], ['setitem', 'e', [{'s': [1, 3, 1]}], 7]]),
    ('setitem by index tensors through an expanded view', [4, 1], [['view', 'e', 'b', 'expand', [4, 3]], ['setitem', 'e', [{'t': [0, 2]}, {'t': [1, 2]}], -1.5]]),
    ('x.mul_(x) fails backward', [3], [['inplace', 'b', 'mult_', ['b']]]),
    ('a view added in place to its base raises (partial overlap)', [2, 3], [['view', 'v', 'b', 'select', [0, 0]], ['inplace', 'v', 'addt_', ['b']]]),
    ('diagonal written in place', [3, 4], [['view', 'd', 'b', 'diagonal', [1, 0, 1]], ['inplace', 'd', 'mul_', [-2]]]),
    ('unfold written in place', [2, 6], [['view', 'u', 'b', 'unfold', [1, 2, 3]], ['inplace', 'u', 'add_', [1]]]),
    ('a view of the leaf written under no_grad keeps its gradient', [2, 3], [['view', 'v', 'a', 'select', [1, 2]], ['inplace', 'v', 'nograd_mul_', [2]]]),
    ('relu_ saves its result: a later write fails backward', [4], [['compute', 'c', 'scale', ['b']], ['inplace', 'c', 'relu_', []], ['inplace', 'c', 'add_', [1]]]),
]


def main():
    rng = random.Random(11)
    programs = []
    for i, (name, shape, steps) in enumerate(EXAMPLES):
        n = 1
        for d in shape:
            n *= d
        data = [round(((k * 37) % 17) / 4 - 2, 3) for k in range(n)]
        programs.append({'id': f'example/{name}', 'shape': shape, 'data': data, 'steps': steps})
    for k in range(340):
        programs.append(random_program(rng, k))
    write(programs, OUT)
    # indexing: integer-array indices pair up and broadcast, mixed with slices and ints, read and written
    irng = random.Random(23)
    write([random_program(irng, k, prefix='indexing', index_bias=True) for k in range(120)], OUT_INDEXING)
    # more view kinds, the leaf under no_grad, tensor values written by index
    vrng = random.Random(31)
    write([random_program(vrng, k, prefix='views', index_bias=k % 2 == 1, extra=True) for k in range(200)], OUT_VIEWS)


def write(programs, path):
    out = []
    for p in programs:
        rec = dict(p)
        rec.update(run(p))
        out.append(rec)
    with open(path, 'w') as f:
        f.write('{"torch": ' + json.dumps(torch.__version__) + ', "programs": [\n')
        f.write(',\n'.join(json.dumps(r, separators=(',', ':')) for r in out))
        f.write('\n]}\n')
    errors = sum(1 for r in out if 'error' in r or 'backwardError' in r)
    print(f'{len(out)} programs ({errors} raise) -> {path}')


if __name__ == '__main__':
    main()
