#!/usr/bin/env python3
"""Golden values for @fusor/conformance, computed with PyTorch.

    /usr/bin/python3 packages/conformance/scripts/gen_golden.py

writes packages/conformance/fixtures/<category>.json. Each case names an op of fusor's public
API (the JS runner maps the same name to the same call: src/ops.ts), its inputs, its
non-tensor arguments, PyTorch's outputs and, for differentiable cases, the gradient of
loss = sum_k (out_k * w_k).sum() with respect to every floating input (w_k recorded too).
Error cases record PyTorch's exact message instead of outputs.

Encoding (see src/fixtures.ts): a tensor is {dtype, shape, data} with data flattened in
row-major order; floats are written exactly, in the shortest text that reads back as the same float32 or
float64, and nan / inf / -inf / -0 are the strings "nan", "inf", "-inf", "-0"; bool is 0/1. An input may
carry "view": "T" (the op sees base.transpose(-2, -1)) or "step" (the op sees base[..., ::2]),
so non-contiguous inputs are real views; gradients are those of the base. A scalar operand
is {"scalar": v}. JS cannot tell 1.0 from 1, so every scalar that is integral here is an int
(PyTorch then infers the same dtype fusor does), and the runner builds every tensor input
with its dtype given explicitly.
"""
import contextlib
import json
import math
import os
import sys
import zlib

import numpy as np
import torch

torch.set_num_threads(2)
torch.manual_seed(0)
RNG = np.random.RandomState(1234)

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures')

F32, F64, I32, I64, BOOL, U8 = 'float32', 'float64', 'int32', 'int64', 'bool', 'uint8'
TORCH_DTYPE = {F32: torch.float32, F64: torch.float64, I32: torch.int32, I64: torch.int64, BOOL: torch.bool, U8: torch.uint8}
DTYPE_NAME = {v: k for k, v in TORCH_DTYPE.items()}
FLOATS = (F32, F64)

NAN, INF = float('nan'), float('inf')
EDGE = [NAN, INF, -INF, -0.0, 0.0, 1e30, -1e30, 1e-30, 0.5, -0.5, 1.5, 2.5, -2.5, 3.0, -7.25]

# ----------------------------------------------------------------------------- encoding


def enc_value(v, dtype):
    if dtype == BOOL:
        return 1 if v else 0
    if dtype not in FLOATS:
        return int(v)
    v = float(v)
    if math.isnan(v):
        return 'nan'
    if math.isinf(v):
        return 'inf' if v > 0 else '-inf'
    if v == 0:
        return '-0' if math.copysign(1, v) < 0 else 0
    # the shortest text that reads back as the same float32 / float64: exact and compact
    f = float(str(np.float32(v))) if dtype == F32 else v
    return int(f) if f.is_integer() and abs(f) < 1e15 else f


def enc_tensor(t):
    dtype = DTYPE_NAME[t.dtype]
    flat = t.detach().contiguous().reshape(-1).tolist()
    return {'dtype': dtype, 'shape': list(t.shape), 'data': [enc_value(v, dtype) for v in flat]}


def dec_value(v):
    if isinstance(v, str):
        return {'nan': NAN, 'inf': INF, '-inf': -INF, '-0': -0.0}[v]
    return v


# ----------------------------------------------------------------------------- inputs


def rand_values(n, dtype, kind):
    if dtype == BOOL:
        return [bool(b) for b in RNG.rand(n) < 0.5]
    if dtype not in FLOATS:
        lo, hi = {'normal': (-5, 6), 'pos': (1, 6), 'small': (0, 4), 'unit': (-1, 2)}.get(kind, (-5, 6))
        return [int(v) for v in RNG.randint(lo, hi, n)]
    if kind == 'pos':
        x = RNG.rand(n) * 3 + 0.1
    elif kind == 'unit':
        x = RNG.rand(n) * 1.8 - 0.9
    elif kind == 'small':
        x = RNG.randn(n) * 0.5
    else:
        x = RNG.randn(n) * 2
    # + 0.0 turns the -0.0 that rounding makes of tiny negatives into 0.0: -0 is tested on purpose only
    return [float(v) + 0.0 for v in np.round(x, 3)]


def T(shape, dtype=F32, kind='normal', data=None, view=None):
    """An input spec: a base tensor of `shape` (the stored one) and an optional view of it."""
    n = int(np.prod(shape)) if len(shape) else 1
    if data is None:
        data = rand_values(n, dtype, kind)
    data = [dec_value(v) for v in data]
    assert len(data) == n, (shape, len(data))
    return {'dtype': dtype, 'shape': list(shape), 'data': data, **({'view': view} if view else {})}


def V(data, dtype=F32):
    """A 1-D input spec from explicit values."""
    return T([len(data)], dtype, data=data)


def S(v):
    return {'scalar': v}


def nested(flat, shape):
    if len(shape) == 0:
        return flat[0]
    step = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    return [nested(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def build(spec, requires_grad):
    """Returns (leaf, the tensor the op sees)."""
    if 'scalar' in spec:
        return None, spec['scalar']
    dt = TORCH_DTYPE[spec['dtype']]
    if 0 in spec['shape']:
        base = torch.zeros(spec['shape'], dtype=dt)
    else:
        base = torch.tensor(nested(spec['data'], spec['shape']), dtype=dt)
    if requires_grad:
        base.requires_grad_(True)
    view = spec.get('view')
    x = base
    if view == 'T':
        x = base.transpose(-2, -1)
    elif view == 'step':
        x = base[..., ::2]
    elif view is not None:
        raise ValueError(view)
    return base, x


def enc_input(spec):
    if 'scalar' in spec:
        return {'scalar': spec['scalar']}
    out = {'dtype': spec['dtype'], 'shape': spec['shape'], 'data': [enc_value(v, spec['dtype']) for v in spec['data']]}
    if 'view' in spec:
        out['view'] = spec['view']
    return out


# ----------------------------------------------------------------------------- the op table
# One entry per op name; src/ops.ts has the same names calling fusor. `x` is the list of
# operands (tensors or Python scalars), `a` the JSON arguments.

def opt_dtype(a):
    return {'dtype': TORCH_DTYPE[a['dtype']]} if 'dtype' in a else {}


def index_spec(s):
    if s is None:
        return None
    if s == '...':
        return Ellipsis
    if isinstance(s, int):
        return s
    parts = [int(p) if p.strip() else None for p in s.split(':')]
    return slice(*parts)


def tensor_spec(x, s):
    """An entry of an advanced index: {'t': k} is the k-th input tensor, anything else as index_spec."""
    if isinstance(s, dict):
        return x[s['t']]
    return index_spec(s)


def _set(x, a):
    y = x[0].clone()
    value = x[a['value_input']] if 'value_input' in a else a['value']
    y[tuple(tensor_spec(x, s) for s in a['specs'])] = value
    return y


def _index_put(x, a):
    k = a['nidx']
    return x[0].index_put(tuple(x[1:1 + k]), x[1 + k], accumulate=a.get('accumulate', False))


def _scatter(x, a):
    src = x[2] if len(x) > 2 else a['value']
    if 'reduce' in a:
        return x[0].scatter(a['dim'], x[1], src, reduce=a['reduce'])
    return x[0].scatter(a['dim'], x[1], src)


def _sum(x, a):
    kw = opt_dtype(a)
    if a.get('dim') is None:
        return torch.sum(x[0], **kw)
    return torch.sum(x[0], a['dim'], a.get('keepdim', False), **kw)


def _dim_or_all(fn):
    def f(x, a):
        if a.get('dim') is None:
            return fn(x[0])
        return fn(x[0], a['dim'], a.get('keepdim', False))
    return f


def _var(fn):
    def f(x, a):
        return fn(x[0], a.get('dim'), a.get('unbiased', True), a.get('keepdim', False))
    return f


def _minmax(fn):
    def f(x, a):
        if 'dim' not in a:
            return fn(x[0])
        r = fn(x[0], a['dim'], a.get('keepdim', False))
        return [r.values, r.indices]
    return f


def _amax(fn):
    def f(x, a):
        return fn(x[0], a.get('dim', []), a.get('keepdim', False))
    return f


def _arange(x, a):
    nums = [a[k] for k in ('start', 'end', 'step') if k in a]
    return torch.arange(*nums, **opt_dtype(a))


def _eye(x, a):
    return torch.eye(a['n'], a['m'], **opt_dtype(a)) if 'm' in a else torch.eye(a['n'], **opt_dtype(a))


OPS = {
    # creation
    'zeros': lambda x, a: torch.zeros(a['shape'], **opt_dtype(a)),
    'ones': lambda x, a: torch.ones(a['shape'], **opt_dtype(a)),
    'empty': lambda x, a: torch.empty(a['shape'], **opt_dtype(a)),
    'full': lambda x, a: torch.full(a['shape'], a['value'], **opt_dtype(a)),
    'eye': _eye,
    'arange': _arange,
    'linspace': lambda x, a: torch.linspace(a['start'], a['end'], a['steps'], **opt_dtype(a)),
    'zerosLike': lambda x, a: torch.zeros_like(x[0], **opt_dtype(a)),
    'onesLike': lambda x, a: torch.ones_like(x[0], **opt_dtype(a)),
    'fullLike': lambda x, a: torch.full_like(x[0], a['value'], **opt_dtype(a)),
    'emptyLike': lambda x, a: torch.empty_like(x[0], **opt_dtype(a)),
    # unary
    'neg': lambda x, a: torch.neg(x[0]),
    'abs': lambda x, a: torch.abs(x[0]),
    'sign': lambda x, a: torch.sign(x[0]),
    'exp': lambda x, a: torch.exp(x[0]),
    'exp2': lambda x, a: torch.exp2(x[0]),
    'log': lambda x, a: torch.log(x[0]),
    'log2': lambda x, a: torch.log2(x[0]),
    'log1p': lambda x, a: torch.log1p(x[0]),
    'expm1': lambda x, a: torch.expm1(x[0]),
    'sqrt': lambda x, a: torch.sqrt(x[0]),
    'rsqrt': lambda x, a: torch.rsqrt(x[0]),
    'reciprocal': lambda x, a: torch.reciprocal(x[0]),
    'square': lambda x, a: torch.square(x[0]),
    'sin': lambda x, a: torch.sin(x[0]),
    'cos': lambda x, a: torch.cos(x[0]),
    'tanh': lambda x, a: torch.tanh(x[0]),
    'sigmoid': lambda x, a: torch.sigmoid(x[0]),
    'relu': lambda x, a: torch.relu(x[0]),
    'floor': lambda x, a: torch.floor(x[0]),
    'ceil': lambda x, a: torch.ceil(x[0]),
    'trunc': lambda x, a: torch.trunc(x[0]),
    'round': lambda x, a: torch.round(x[0]),
    'clamp': lambda x, a: torch.clamp(x[0], a.get('min'), a.get('max')),
    'isnan': lambda x, a: torch.isnan(x[0]),
    'isinf': lambda x, a: torch.isinf(x[0]),
    'isfinite': lambda x, a: torch.isfinite(x[0]),
    'logicalNot': lambda x, a: torch.logical_not(x[0]),
    'bitwiseNot': lambda x, a: torch.bitwise_not(x[0]),
    'clone': lambda x, a: torch.clone(x[0]),
    'to': lambda x, a: x[0].to(TORCH_DTYPE[a['dtype']]),
    'float': lambda x, a: x[0].float(),
    'double': lambda x, a: x[0].double(),
    'long': lambda x, a: x[0].long(),
    'int': lambda x, a: x[0].int(),
    'bool': lambda x, a: x[0].bool(),
    # binary
    'add': lambda x, a: torch.add(x[0], x[1], alpha=a['alpha']) if 'alpha' in a else torch.add(x[0], x[1]),
    'sub': lambda x, a: torch.sub(x[0], x[1], alpha=a['alpha']) if 'alpha' in a else torch.sub(x[0], x[1]),
    'mul': lambda x, a: torch.mul(x[0], x[1]),
    'div': lambda x, a: torch.div(x[0], x[1], rounding_mode=a.get('roundingMode')),
    'pow': lambda x, a: torch.pow(x[0], x[1]),
    'remainder': lambda x, a: torch.remainder(x[0], x[1]),
    'fmod': lambda x, a: torch.fmod(x[0], x[1]),
    'maximum': lambda x, a: torch.maximum(x[0], x[1]),
    'minimum': lambda x, a: torch.minimum(x[0], x[1]),
    'gt': lambda x, a: torch.gt(x[0], x[1]),
    'ge': lambda x, a: torch.ge(x[0], x[1]),
    'lt': lambda x, a: torch.lt(x[0], x[1]),
    'le': lambda x, a: torch.le(x[0], x[1]),
    'eq': lambda x, a: torch.eq(x[0], x[1]),
    'ne': lambda x, a: torch.ne(x[0], x[1]),
    'logicalAnd': lambda x, a: torch.logical_and(x[0], x[1] if torch.is_tensor(x[1]) else torch.tensor(x[1])),
    'logicalOr': lambda x, a: torch.logical_or(x[0], x[1] if torch.is_tensor(x[1]) else torch.tensor(x[1])),
    'logicalXor': lambda x, a: torch.logical_xor(x[0], x[1] if torch.is_tensor(x[1]) else torch.tensor(x[1])),
    'bitwiseAnd': lambda x, a: torch.bitwise_and(x[0], x[1]),
    'bitwiseOr': lambda x, a: torch.bitwise_or(x[0], x[1]),
    'bitwiseXor': lambda x, a: torch.bitwise_xor(x[0], x[1]),
    'where': lambda x, a: torch.where(x[0], x[1], x[2]),
    # reductions
    'sum': _sum,
    'mean': lambda x, a: torch.mean(x[0]) if a.get('dim') is None else torch.mean(x[0], a['dim'], a.get('keepdim', False)),
    'prod': _dim_or_all(torch.prod),
    'max': _minmax(torch.max),
    'min': _minmax(torch.min),
    'amax': _amax(torch.amax),
    'amin': _amax(torch.amin),
    'argmax': lambda x, a: torch.argmax(x[0], a.get('dim'), a.get('keepdim', False)),
    'argmin': lambda x, a: torch.argmin(x[0], a.get('dim'), a.get('keepdim', False)),
    'var': _var(torch.var),
    'std': _var(torch.std),
    'logsumexp': lambda x, a: torch.logsumexp(x[0], a['dim'], a.get('keepdim', False)),
    'all': _dim_or_all(torch.all),
    'any': _dim_or_all(torch.any),
    # shape
    'reshape': lambda x, a: x[0].reshape(a['shape']),
    'view': lambda x, a: x[0].view(a['shape']),
    'permute': lambda x, a: x[0].permute(a['dims']),
    'transpose': lambda x, a: x[0].transpose(a['dim0'], a['dim1']),
    'swapaxes': lambda x, a: x[0].swapaxes(a['dim0'], a['dim1']),
    't': lambda x, a: x[0].t(),
    'T': lambda x, a: x[0].permute(*reversed(range(x[0].ndim))),
    'mT': lambda x, a: x[0].transpose(-2, -1),
    'squeeze': lambda x, a: x[0].squeeze(a['dim']) if 'dim' in a else x[0].squeeze(),
    'unsqueeze': lambda x, a: x[0].unsqueeze(a['dim']),
    'expand': lambda x, a: x[0].expand(a['sizes']),
    'expandAs': lambda x, a: x[0].expand_as(x[1]),
    'repeat': lambda x, a: x[0].repeat(a['sizes']),
    'flatten': lambda x, a: x[0].flatten(a.get('start', 0), a.get('end', -1)),
    'flip': lambda x, a: x[0].flip(a['dims']),
    'cat': lambda x, a: torch.cat(x, a.get('dim', 0)),
    'stack': lambda x, a: torch.stack(x, a.get('dim', 0)),
    'split': lambda x, a: list(x[0].split(a['size'], a.get('dim', 0))),
    'chunk': lambda x, a: list(x[0].chunk(a['chunks'], a.get('dim', 0))),
    'unbind': lambda x, a: list(x[0].unbind(a.get('dim', 0))),
    'narrow': lambda x, a: x[0].narrow(a['dim'], a['start'], a['length']),
    'select': lambda x, a: x[0].select(a['dim'], a['index']),
    'index': lambda x, a: x[0][tuple(index_spec(s) for s in a['specs'])],
    'indexSelect': lambda x, a: torch.index_select(x[0], a['dim'], x[1]),
    'gather': lambda x, a: torch.gather(x[0], a['dim'], x[1]),
    'contiguous': lambda x, a: x[0].contiguous(),
    # indexed loads and stores, scans
    'indexT': lambda x, a: x[0][tuple(tensor_spec(x, s) for s in a['specs'])],
    'set': _set,
    'indexPut': _index_put,
    'take': lambda x, a: torch.take(x[0], x[1]),
    'scatter': _scatter,
    'scatterAdd': lambda x, a: x[0].scatter_add(a['dim'], x[1], x[2]),
    'indexAdd': lambda x, a: x[0].index_add(a['dim'], x[1], x[2], alpha=a.get('alpha', 1)),
    'indexCopy': lambda x, a: x[0].index_copy(a['dim'], x[1], x[2]),
    'maskedFill': lambda x, a: x[0].masked_fill(x[1], a['value']),
    'oneHot': lambda x, a: torch.nn.functional.one_hot(x[0], a.get('n', -1)),
    'nonzero': lambda x, a: torch.nonzero(x[0]),
    'cumsum': lambda x, a: torch.cumsum(x[0], a['dim']),
    'cumprod': lambda x, a: torch.cumprod(x[0], a['dim']),
    'cummax': lambda x, a: list(torch.cummax(x[0], a['dim'])),
    'cummin': lambda x, a: list(torch.cummin(x[0], a['dim'])),
    'logcumsumexp': lambda x, a: torch.logcumsumexp(x[0], a['dim']),
    'sort': lambda x, a: list(torch.sort(x[0], dim=a.get('dim', -1), descending=a.get('descending', False), stable=True)),
    'argsort': lambda x, a: torch.sort(x[0], dim=a.get('dim', -1), descending=a.get('descending', False), stable=True)[1],
    'topk': lambda x, a: list(torch.topk(x[0], a['k'], dim=a.get('dim', -1), largest=a.get('largest', True))),
    'kthvalue': lambda x, a: list(torch.kthvalue(x[0], a['k'], dim=a.get('dim', -1), keepdim=a.get('keepdim', False))),
    'msort': lambda x, a: torch.msort(x[0]),
    'nanmedian': lambda x, a: torch.nanmedian(x[0]) if 'dim' not in a else list(torch.nanmedian(x[0], a['dim'], keepdim=a.get('keepdim', False))),
    'median': lambda x, a: torch.median(x[0]) if 'dim' not in a else list(torch.median(x[0], a['dim'], keepdim=a.get('keepdim', False))),
    # linear algebra and softmax
    'mm': lambda x, a: torch.mm(x[0], x[1]),
    'bmm': lambda x, a: torch.bmm(x[0], x[1]),
    'mv': lambda x, a: torch.mv(x[0], x[1]),
    'dot': lambda x, a: torch.dot(x[0], x[1]),
    'matmul': lambda x, a: torch.matmul(x[0], x[1]),
    'softmax': lambda x, a: torch.softmax(x[0], a['dim']),
    'logSoftmax': lambda x, a: torch.log_softmax(x[0], a['dim']),
}


# ----------------------------------------------------------------------------- nn ops
# Convolution, pooling, padding and activations. Their keyword arguments travel as a['kw'] in
# fusor's camelCase (the options object the JS side passes as is), turned into snake_case here.

import re  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def snake(kw):
    return {re.sub(r'([A-Z])', lambda m: '_' + m.group(1).lower(), k): (tuple(v) if isinstance(v, list) else v) for k, v in (kw or {}).items()}


def _conv(fn):
    return lambda x, a: fn(x[0], x[1], x[2] if len(x) > 2 else None, **snake(a.get('kw')))


def _listify(out):
    return list(out) if isinstance(out, tuple) else out


NN_OPS = {
    'conv1d': _conv(F.conv1d),
    'conv2d': _conv(F.conv2d),
    'conv3d': _conv(F.conv3d),
    'convTranspose1d': _conv(F.conv_transpose1d),
    'convTranspose2d': _conv(F.conv_transpose2d),
    'maxPool1d': lambda x, a: _listify(F.max_pool1d(x[0], **snake(a.get('kw')))),
    'maxPool2d': lambda x, a: _listify(F.max_pool2d(x[0], **snake(a.get('kw')))),
    'avgPool1d': lambda x, a: F.avg_pool1d(x[0], **snake(a.get('kw'))),
    'avgPool2d': lambda x, a: F.avg_pool2d(x[0], **snake(a.get('kw'))),
    'adaptiveAvgPool2d': lambda x, a: F.adaptive_avg_pool2d(x[0], a['size'] if isinstance(a['size'], int) else tuple(a['size'])),
    'pad': lambda x, a: F.pad(x[0], tuple(a['sizes']), **snake(a.get('kw'))),
    'unfold': lambda x, a: F.unfold(x[0], **snake(a.get('kw'))),
    'tensorUnfold': lambda x, a: x[0].unfold(a['dim'], a['size'], a['step']),
    'erf': lambda x, a: torch.erf(x[0]),
    'gelu': lambda x, a: F.gelu(x[0], **snake(a.get('kw'))),
    'silu': lambda x, a: F.silu(x[0]),
    'mish': lambda x, a: F.mish(x[0]),
    'softplus': lambda x, a: F.softplus(x[0], **snake(a.get('kw'))),
    'logsigmoid': lambda x, a: F.logsigmoid(x[0]),
    'leakyRelu': lambda x, a: F.leaky_relu(x[0], **snake(a.get('kw'))),
    'elu': lambda x, a: F.elu(x[0], **snake(a.get('kw'))),
    'hardtanh': lambda x, a: F.hardtanh(x[0], **snake(a.get('kw'))),
    'relu6': lambda x, a: F.relu6(x[0]),
    'triu': lambda x, a: torch.triu(x[0], a.get('diagonal', 0)),
    'tril': lambda x, a: torch.tril(x[0], a.get('diagonal', 0)),
    'diag': lambda x, a: torch.diag(x[0], a.get('diagonal', 0)),
    'outer': lambda x, a: torch.outer(x[0], x[1]),
    'addmm': lambda x, a: torch.addmm(x[0], x[1], x[2], **snake(a.get('kw'))),
    'addmv': lambda x, a: torch.addmv(x[0], x[1], x[2], **snake(a.get('kw'))),
    'baddbmm': lambda x, a: torch.baddbmm(x[0], x[1], x[2], **snake(a.get('kw'))),
    'einsum': lambda x, a: torch.einsum(a['equation'], *x),
}
OPS.update(NN_OPS)


# ----------------------------------------------------------------------------- cases

CASES = {}
IDS = set()
CATEGORY = None


def run(op, inputs, args, requires_grad):
    built = [build(s, requires_grad and 'scalar' not in s and s['dtype'] in FLOATS) for s in inputs]
    out = OPS[op]([b[1] for b in built], args)
    return [b[0] for b in built], out


def case(name, op, inputs=(), args=None, grad=True, error=None, values=True):
    """Records PyTorch's result of OPS[op](inputs, args)."""
    args = dict(args or {})
    cid = f'{op}/error/{name}' if error is not None else f'{op}/{name}'
    assert cid not in IDS, cid
    IDS.add(cid)
    c = {'id': cid, 'op': op, 'inputs': [enc_input(s) for s in inputs]}
    if args:
        c['args'] = {k: enc_value(v, F64) if isinstance(v, float) else v for k, v in args.items()}
    if error is not None:
        try:
            run(op, inputs, args, False)
        except Exception as e:  # noqa: BLE001 - any PyTorch error is the expected one
            msg = str(e).split('\n')[0]
            assert error in msg, f'{cid}: expected {error!r}, PyTorch said {msg!r}'
            c['error'] = msg
            CASES[CATEGORY].append(c)
            return
        raise AssertionError(f'{cid}: PyTorch raised nothing')
    _, out = run(op, inputs, args, False)
    outs = out if isinstance(out, list) else [out]
    c['multi'] = isinstance(out, list)
    if values:
        c['outputs'] = [enc_tensor(o) for o in outs]
    else:
        c['outputs'] = [{'dtype': DTYPE_NAME[o.dtype], 'shape': list(o.shape)} for o in outs]
    has_float_input = any('scalar' not in s and s['dtype'] in FLOATS for s in inputs)
    if grad and has_float_input:
        leaves, out = run(op, inputs, args, True)
        outs = out if isinstance(out, list) else [out]
        ws = []
        loss = None
        for o in outs:
            if o.dtype.is_floating_point and o.requires_grad:
                w = torch.tensor(np.round(RNG.randn(*o.shape), 3) if o.dim() else float(np.round(RNG.randn(), 3)), dtype=o.dtype)
                term = (o * w).sum()
                loss = term if loss is None else loss + term
                ws.append(enc_tensor(w))
            else:
                ws.append(None)
        if loss is not None:
            loss.backward()
            c['grad'] = {
                'w': ws,
                'inputs': [None if (leaf is None or not leaf.requires_grad) else (enc_tensor(leaf.grad) if leaf.grad is not None else None)
                           for leaf in leaves],
            }
    CASES[CATEGORY].append(c)


def category(name):
    global CATEGORY
    CATEGORY = name
    CASES.setdefault(name, [])


@contextlib.contextmanager
def own_stream(name):
    """Inputs drawn from a stream seeded by `name`, after which RNG goes on as if nothing was drawn."""
    saved = RNG.get_state()
    RNG.seed(zlib.crc32(name.encode()))
    try:
        yield
    finally:
        RNG.set_state(saved)


# ----------------------------------------------------------------------------- creation

def creation():
    category('creation')
    for dt in (F32, F64, I32, I64, BOOL):
        for shape in ([], [0], [2, 3], [2, 0, 3]):
            case(f'{dt}/{shape}', 'zeros', args={'shape': shape, 'dtype': dt})
            case(f'{dt}/{shape}', 'ones', args={'shape': shape, 'dtype': dt})
    case('default/[3]', 'zeros', args={'shape': [3]})
    case('default/[2,2]', 'ones', args={'shape': [2, 2]})
    for dt in (F32, I64, BOOL):
        case(f'{dt}/[2,3]', 'empty', args={'shape': [2, 3], 'dtype': dt}, values=False)
    case('float_inferred', 'full', args={'shape': [2, 3], 'value': 2.5})
    case('int_inferred', 'full', args={'shape': [2], 'value': 7})
    case('bool_inferred', 'full', args={'shape': [2, 2], 'value': True})
    case('float64', 'full', args={'shape': [3], 'value': -1.5, 'dtype': F64})
    case('int_value_float32', 'full', args={'shape': [2], 'value': 3, 'dtype': F32})
    case('int32', 'full', args={'shape': [2, 2], 'value': -4, 'dtype': I32})
    case('empty', 'full', args={'shape': [0], 'value': 1.5})
    case('0d', 'full', args={'shape': [], 'value': -0.25})
    case('nan', 'full', args={'shape': [2], 'value': NAN})
    case('inf', 'full', args={'shape': [2], 'value': -INF})
    for n, m in ((3, None), (2, 4), (4, 2), (0, None), (1, None)):
        case(f'{n}x{m}', 'eye', args={'n': n, **({'m': m} if m is not None else {})})
    case('int64', 'eye', args={'n': 3, 'dtype': I64})
    case('bool', 'eye', args={'n': 3, 'm': 2, 'dtype': BOOL})
    case('float64', 'eye', args={'n': 2, 'dtype': F64})
    ar = [
        ('end', {'end': 5}), ('start_end', {'start': 2, 'end': 8}), ('step3', {'start': 1, 'end': 10, 'step': 3}),
        ('negative_step', {'start': 10, 'end': 1, 'step': -2}), ('empty', {'end': 0}), ('start_eq_end', {'start': 3, 'end': 3}),
        ('float_step', {'start': 0, 'end': 1, 'step': 0.1}), ('float_start', {'start': 0.5, 'end': 3}),
        ('quarter', {'start': -1, 'end': 1, 'step': 0.25}), ('inexact_bound', {'start': 0, 'end': 0.3, 'step': 0.1}),
        ('float_negative_step', {'start': 1, 'end': -1, 'step': -0.3}), ('step_1.5', {'start': 0, 'end': 5, 'step': 1.5}),
        ('float64', {'start': 0, 'end': 5, 'dtype': F64}), ('float64_step', {'start': 0, 'end': 1, 'step': 0.1, 'dtype': F64}),
        ('int32', {'start': -3, 'end': 3, 'dtype': I32}), ('float32_ints', {'end': 4, 'dtype': F32}),
    ]
    for name, a in ar:
        case(name, 'arange', args=a)
    ls = [
        ('0_1_5', {'start': 0, 'end': 1, 'steps': 5}), ('sym', {'start': -1, 'end': 1, 'steps': 4}),
        ('one_step', {'start': 3, 'end': 7, 'steps': 1}), ('zero_steps', {'start': 0, 'end': 1, 'steps': 0}),
        ('int64', {'start': 2, 'end': 10, 'steps': 5, 'dtype': I64}), ('int64_trunc', {'start': 0, 'end': 10, 'steps': 4, 'dtype': I64}),
        ('float64', {'start': 0, 'end': 1, 'steps': 7, 'dtype': F64}), ('descending', {'start': 10, 'end': -10, 'steps': 6}),
        ('many', {'start': -3, 'end': 2.5, 'steps': 50}), ('float_ends', {'start': 0.1, 'end': 0.7, 'steps': 3}),
    ]
    for name, a in ls:
        case(name, 'linspace', args=a)
    x = T([2, 3])
    case('f32', 'zerosLike', [x])
    case('i64', 'onesLike', [T([3], I64)])
    case('dtype', 'onesLike', [x], {'dtype': F64})
    case('f32', 'fullLike', [x], {'value': 1.25})
    case('bool', 'fullLike', [T([2], BOOL)], {'value': True})
    case('f32', 'emptyLike', [x], values=False)


# ----------------------------------------------------------------------------- elementwise

UNARY_DOMAIN = {'log': 'pos', 'log2': 'pos', 'log1p': 'pos', 'sqrt': 'pos', 'rsqrt': 'pos'}
UNARY_INT_OK = ['neg', 'abs', 'sign', 'exp', 'exp2', 'log', 'log2', 'sqrt', 'rsqrt', 'reciprocal', 'sin', 'cos', 'tanh',
                'sigmoid', 'relu', 'floor', 'ceil', 'trunc', 'round', 'square']


def unary_cases(op):
    """The cases every unary op gets: float32/64, 0-d, empty, non-contiguous, edge values, integers."""
    kind = UNARY_DOMAIN.get(op, 'normal')
    case('f32/[2,3]', op, [T([2, 3], F32, kind)])
    case('f64/[2,3]', op, [T([2, 3], F64, kind)])
    case('f32/0d', op, [T([], F32, kind)])
    case('f32/empty', op, [T([0, 3], F32, kind)])
    case('f32/transposed', op, [T([3, 4], F32, kind, view='T')])
    case('f32/strided', op, [T([2, 6], F32, kind, view='step')])
    case('f32/edge', op, [V(EDGE, F32)])
    case('f64/edge', op, [V(EDGE, F64)])
    case('i64', op, [T([5], I64, 'pos' if kind == 'pos' else 'normal')])
    case('i32', op, [T([2, 2], I32, 'pos' if kind == 'pos' else 'normal')])


# Unary ops added after the fixtures were first drawn: each draws its inputs from its own stream
# (own_stream), so adding one changes no other case. A new unary op is a name here, its call in
# OPS, and any values of interest in later().
LATER_UNARY = ['log1p', 'expm1']


def later():
    category('elementwise')
    for op in LATER_UNARY:
        with own_stream(op):
            unary_cases(op)
    case('f32/small', 'log1p', [V([-1, -0.5, -1e-4, -1e-30, -0.0, 1e-30, 1e-7, 1e-4, 0.3, 1e30], F32)])
    case('f64/small', 'log1p', [V([-1, -1e-9, -1e-300, 1e-300, 1e-17, 1e-9, 0.75, 1e300], F64)])
    # near 0, where exp(x) − 1 cancels; around ±0.5; where exp overflows
    case('f32/small', 'expm1', [V([-1e-30, -1e-7, -0.0, 1e-30, 1e-10, 1e-7, 3e-5, -3e-5, 1e-2, -0.3], F32)])
    case('f32/range', 'expm1', [V([-0.5, -0.49999997, 0.49999997, 0.5, 0.50000006, 1, -20, -104, 88, 89], F32)])
    case('f64/small', 'expm1', [V([-1e-300, 1e-300, -1e-17, 1e-17, 1e-9, -1e-9, 1e-5, 0.25, -0.4, 0.5], F64)])
    case('f64/range', 'expm1', [V([-0.5000000000000001, 0.49999999999999994, 0.75, -3, 30, -40, 709, 710], F64)])


def elementwise():
    category('elementwise')
    for op in UNARY_INT_OK:
        unary_cases(op)
    # special values of interest per op
    case('f32/halves', 'round', [V([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 1e8 + 1, 4503599627370497.0, -0.4], F32)])
    case('f64/halves', 'round', [V([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994, 4503599627370497.0, -0.4], F64)])
    case('f32/large', 'sin', [V([1e4, -1e4, 123456.7, 3.14159265, 1e-8], F32)])
    case('f32/large', 'cos', [V([1e4, -1e4, 123456.7, 3.14159265, 1e-8], F32)])
    case('f32/range', 'exp', [V([-100, -50, -10, 10, 50, 88, 89, 100], F32)])
    case('f32/range', 'tanh', [V([-100, -20, -5, -1e-4, 1e-4, 5, 20, 100], F32)])
    case('f32/range', 'sigmoid', [V([-100, -20, -5, -1e-4, 1e-4, 5, 20, 100], F32)])
    case('f32/range', 'exp2', [V([-150, -126, -20, 0.5, 20, 127, 128], F32)])
    case('f32/tiny', 'log', [V([1e-30, 1e-10, 1, 1e10, 1e30], F32)])
    case('f32/tiny', 'sqrt', [V([1e-30, 1e-10, 1, 1e10, 1e30], F32)])
    case('f32/tiny', 'reciprocal', [V([1e-30, -1e-10, 1, 1e10, -1e30], F32)])
    case('bool', 'sign', [T([4], BOOL)], grad=False)
    # clamp
    case('f32/both', 'clamp', [T([2, 4])], {'min': -1, 'max': 1.5})
    case('f32/min', 'clamp', [T([6])], {'min': 0.25})
    case('f32/max', 'clamp', [T([6])], {'max': -0.5})
    case('f32/at_bounds', 'clamp', [V([-1, 1, 0, -2, 2, NAN])], {'min': -1, 'max': 1})
    case('f64/both', 'clamp', [T([5], F64)], {'min': -2, 'max': 2})
    case('i64/int_bounds', 'clamp', [T([6], I64)], {'min': -2, 'max': 3})
    case('i64/float_bound', 'clamp', [T([6], I64)], {'min': -1.5})
    case('f32/transposed', 'clamp', [T([3, 2], view='T')], {'min': 0})
    # predicates
    for op in ('isnan', 'isinf', 'isfinite'):
        case('f32', op, [V(EDGE, F32)])
        case('f64', op, [V(EDGE, F64)])
        case('i64', op, [T([4], I64)])
    case('bool', 'logicalNot', [T([5], BOOL)])
    case('f32', 'logicalNot', [V([0, -0.0, 1.5, NAN, -INF])])
    case('i64', 'logicalNot', [V([0, 3, -2], I64)])
    case('bool', 'bitwiseNot', [T([5], BOOL)])
    case('i32', 'bitwiseNot', [V([0, 1, -1, 7, -8, 2147483647], I32)])
    case('i64', 'bitwiseNot', [V([0, 1, -1, 7, -8, 1 << 40], I64)])
    case('f32', 'clone', [T([2, 3])])
    case('i64/transposed', 'clone', [T([2, 3], I64, view='T')])
    # casts
    ints_as_float = [0.0, -0.0, 1.9, -1.9, 2.5, -2.5, 100.7, -100.7, 65537.5]
    casts = [
        ('f32->i32', V(ints_as_float, F32), I32), ('f32->i64', V(ints_as_float, F32), I64),
        ('f64->i64', V(ints_as_float, F64), I64), ('f32->bool', V([0, -0.0, 0.1, -3, NAN, INF]), BOOL),
        ('f32->f64', V([0.1, -1e-30, 1e30, NAN, -INF, 3.4e38]), F64), ('f64->f32', V([0.1, 1e-50, 1e40, -1e40, 16777217.0, NAN], F64), F32),
        ('i64->f32', V([0, -3, 16777217, 123456789], I64), F32), ('i64->f64', V([0, -3, 16777217, 9007199254740991], I64), F64),
        ('i64->i32', V([0, -3, 7, 2147483647], I64), I32), ('i32->i64', V([0, -3, 7, -2147483648], I32), I64),
        ('i64->bool', V([0, -3, 7, 0], I64), BOOL), ('bool->f32', T([4], BOOL), F32), ('bool->i64', T([4], BOOL), I64),
        ('f32->u8', V([0, 1.9, 200.5, 255]), U8), ('u8->f32', V([0, 3, 200, 255], U8), F32),
        ('f32->f32', T([3]), F32), ('transposed', T([2, 3], view='T'), F64),
    ]
    for name, x, dt in casts:
        case(name, 'to', [x], {'dtype': dt})
    case('i64', 'float', [T([3], I64)])
    case('f32', 'double', [T([3])])
    case('f32', 'long', [V([1.5, -1.5, 3])])
    case('f64', 'int', [V([1.5, -1.5, 3], F64)])
    case('f32', 'bool', [V([0, 2, -0.0])])

    # binary arithmetic
    for op in ('add', 'sub', 'mul', 'div', 'maximum', 'minimum'):
        case('f32/same', op, [T([2, 3]), T([2, 3])])
        case('f32/broadcast_row', op, [T([2, 3]), T([3])])
        case('f32/broadcast_both', op, [T([2, 1, 3]), T([4, 1])])
        case('f64/same', op, [T([3, 2], F64), T([3, 2], F64)])
        case('i64/same', op, [T([5], I64), T([5], I64, 'pos')])
        case('i32/broadcast', op, [T([2, 3], I32), T([1, 3], I32, 'pos')])
        case('i32+i64', op, [T([4], I32), T([4], I64, 'pos')])
        case('i64+f32', op, [T([4], I64), T([4], F32, 'pos')])
        case('f32+f64', op, [T([3]), T([3], F64, 'pos')])
        case('f32+0d_f64', op, [T([3]), T([], F64, 'pos')])
        case('0d+0d', op, [T([]), T([], F32, 'pos')])
        case('transposed', op, [T([3, 2], view='T'), T([2, 3])])
        case('strided', op, [T([2, 6], view='step'), T([3, 2], view='T')])
        case('empty', op, [T([0, 3]), T([3])])
        case('f32/edge', op, [V(EDGE), V(list(reversed(EDGE)))])
        if op not in ('maximum', 'minimum'):
            case('f32+float_scalar', op, [T([4]), S(2.5)])
            case('f32+int_scalar', op, [T([4]), S(2)])
            case('i64+float_scalar', op, [T([4], I64), S(-1.5)])
            case('i64+int_scalar', op, [T([4], I64), S(3)])
            case('scalar+f32', op, [S(1.5), T([2, 2], F32, 'pos')])
        else:
            case('ties', op, [V([1, 2, 3, 2]), V([1, 1, 3, 4])])
            case('bool', op, [T([4], BOOL), T([4], BOOL)])
    case('bool+bool', 'add', [T([5], BOOL), T([5], BOOL)])
    case('bool*bool', 'mul', [T([5], BOOL), T([5], BOOL)])
    case('bool+int', 'add', [T([5], BOOL), T([5], I64)])
    case('alpha', 'add', [T([4]), T([4])], {'alpha': 2})
    case('alpha_float', 'add', [T([4]), T([4])], {'alpha': 0.5})
    case('alpha', 'sub', [T([4]), T([4])], {'alpha': 3})
    case('alpha_int', 'sub', [T([4], I64), T([4], I64)], {'alpha': 2})
    for mode in ('trunc', 'floor'):
        case(f'{mode}/f32', 'div', [V([7, -7, 7, -7, 5.5, -5.5, 0, 1]), V([2, 2, -2, -2, 2, 2, 3, 0])], {'roundingMode': mode})
        case(f'{mode}/f64', 'div', [T([6], F64), T([6], F64, 'pos')], {'roundingMode': mode})
        case(f'{mode}/i64', 'div', [V([7, -7, 7, -7, 6, -6, 0], I64), V([2, 2, -2, -2, 3, 3, 5], I64)], {'roundingMode': mode})
        case(f'{mode}/i32_scalar', 'div', [V([7, -7, 8, -8], I32), S(3)], {'roundingMode': mode})
        case(f'{mode}/f32_broadcast', 'div', [T([2, 3]), T([3], F32, 'pos')], {'roundingMode': mode})
    case('f32/by_zero', 'div', [V([1, -1, 0, NAN]), V([0, 0, 0, 0])])
    case('i64/true_div', 'div', [V([7, -7, 1], I64), V([2, 2, 0], I64)])
    # pow
    base = V([-2, -1.5, -1, -0.0, 0, 0.5, 1, 2, 3])
    for e in (2, 3, 0, 1, -1, -2, 0.5, -0.5, 2.5, 4, 1 / 3):
        ename = str(e).replace('0.3333333333333333', '1/3')
        case(f'f32^{ename}', 'pow', [base, S(e)])
    case('f64^2.5', 'pow', [T([5], F64, 'pos'), S(2.5)])
    case('f32^f32', 'pow', [T([2, 3], F32, 'pos'), T([2, 3], F32, 'small')])
    case('neg_base^tensor', 'pow', [V([-2, -2, -2, -0.5, 0, 0, 0, 2]), V([2, 3, 0.5, -1, 0, 1, -1, -0.5])])
    case('broadcast', 'pow', [T([2, 3], F32, 'pos'), T([3], F32, 'small')])
    case('i64^int', 'pow', [V([-3, -1, 0, 2, 5], I64), S(3)])
    case('i64^0', 'pow', [V([-3, 0, 2], I64), S(0)])
    case('i64^i64', 'pow', [V([2, -3, 4, 0, 1], I64), V([3, 3, 0, 2, 7], I64)])
    case('i64^float', 'pow', [V([2, 3, 4], I64), S(0.5)])
    case('scalar^f32', 'pow', [S(2), T([4])])
    case('float_scalar^f32', 'pow', [S(0.5), T([4])])
    case('f32^0d', 'pow', [T([3], F32, 'pos'), T([], F32, 'small')])
    case('f64^f64_edge', 'pow', [V([INF, -INF, NAN, 1, 1, 0, 2], F64), V([2, 3, 0, NAN, INF, -0.0, -INF], F64)])
    # remainder / fmod
    for op in ('remainder', 'fmod'):
        case('f32/signs', op, [V([5.5, -5.5, 5.5, -5.5, 3, -3, 0, 7]), V([2, 2, -2, -2, 1.5, 1.5, 3, -3.5])])
        case('f64', op, [T([6], F64), T([6], F64, 'pos')])
        case('i64/signs', op, [V([7, -7, 7, -7, 6, 0], I64), V([3, 3, -3, -3, 3, 5], I64)])
        case('i32/scalar', op, [V([7, -7, 9, -9], I32), S(4)])
        case('f32/scalar', op, [T([5]), S(1.5)])
        case('f32/by_zero', op, [V([1, -1, 0]), V([0, 0, 0])])
        case('f32/broadcast', op, [T([2, 3]), T([3], F32, 'pos')])
        case('f32/transposed', op, [T([3, 2], view='T'), S(-0.75)])
    # comparisons
    for op in ('gt', 'ge', 'lt', 'le', 'eq', 'ne'):
        case('f32', op, [V([1, 2, 3, NAN, INF, -0.0]), V([2, 2, 1, NAN, INF, 0])])
        case('f32/broadcast', op, [T([2, 3], F32, 'small'), T([3], F32, 'small')])
        case('i64', op, [V([1, 2, 3, -4], I64), V([2, 2, 1, -4], I64)])
        case('i64+f32', op, [V([1, 2, 3], I64), V([1.5, 2, 2.5])])
        case('f32+scalar', op, [V([-1, 0, 0.5, 1, NAN]), S(0.5)])
        case('i64+scalar', op, [V([-1, 0, 1, 2], I64), S(1)])
        case('bool', op, [V([1, 0, 1, 0], BOOL), V([1, 1, 0, 0], BOOL)])
        case('transposed', op, [T([3, 2], F32, 'small', view='T'), T([2, 3], F32, 'small')])
    # logical and bitwise
    for op in ('logicalAnd', 'logicalOr', 'logicalXor'):
        case('bool', op, [V([1, 0, 1, 0], BOOL), V([1, 1, 0, 0], BOOL)])
        case('f32', op, [V([0, 1.5, NAN, -0.0]), V([2, 0, 1, 1])])
        case('i64+bool', op, [V([0, 3, -1, 0], I64), V([1, 1, 0, 0], BOOL)])
        case('broadcast', op, [T([2, 3], BOOL), T([3], BOOL)])
    for op in ('bitwiseAnd', 'bitwiseOr', 'bitwiseXor'):
        case('bool', op, [V([1, 0, 1, 0], BOOL), V([1, 1, 0, 0], BOOL)])
        case('i32', op, [V([12, -1, 7, -8, 0], I32), V([10, 5, -3, 3, -1], I32)])
        case('i64', op, [V([12, -1, 7, -8, 1 << 40], I64), V([10, 5, -3, 3, (1 << 40) + 1], I64)])
        case('i64+scalar', op, [V([12, -1, 7], I64), S(6)])
        case('broadcast', op, [T([2, 3], I32), T([3], I32)])
    # where
    case('f32', 'where', [T([2, 3], BOOL), T([2, 3]), T([2, 3])])
    case('broadcast', 'where', [T([3], BOOL), T([2, 3]), T([2, 1])])
    case('scalar_other', 'where', [T([4], BOOL), T([4]), S(0)])
    case('scalar_both', 'where', [T([4], BOOL), S(1.5), S(-2)])
    case('int_float', 'where', [T([4], BOOL), T([4], I64), T([4], F32)])
    case('i64', 'where', [T([4], BOOL), T([4], I64), T([4], I64)])
    case('nan_unselected', 'where', [V([1, 0, 1], BOOL), V([1, NAN, 2]), V([NAN, 3, INF])])
    case('transposed', 'where', [T([3, 2], BOOL, view='T'), T([2, 3]), T([3, 2], view='T')])
    case('f64', 'where', [T([2, 2], BOOL), T([2, 2], F64), S(0.5)])


# ----------------------------------------------------------------------------- reductions

def reductions():
    category('reduce')
    x = lambda dt=F32, kind='normal': T([2, 3, 4], dt, kind)  # noqa: E731
    for op in ('sum', 'mean', 'prod', 'amax', 'amin'):
        full_args = {} if op not in ('amax', 'amin') else {}
        kind = 'unit' if op == 'prod' else 'normal'
        case('f32/all', op, [x(F32, kind)], full_args)
        case('f32/dim1', op, [x(F32, kind)], {'dim': 1})
        case('f32/dim1_keepdim', op, [x(F32, kind)], {'dim': 1, 'keepdim': True})
        case('f32/dim-1', op, [x(F32, kind)], {'dim': -1})
        case('f32/dim0', op, [T([5, 2], F32, kind)], {'dim': 0})
        case('f64/dim2', op, [x(F64, kind)], {'dim': 2})
        case('f32/0d', op, [T([], F32, kind)])
        case('f32/0d_dim0', op, [T([], F32, kind)], {'dim': 0})
        case('f32/transposed', op, [T([4, 3], F32, kind, view='T')], {'dim': 1})
        case('f32/strided', op, [T([3, 8], F32, kind, view='step')], {'dim': 1, 'keepdim': True})
        # PyTorch's amax/amin gradient with a NaN max is NaN everywhere (g / count with count 0),
        # while its max()/min() send it to the NaN; fusor does the latter for both: values only here
        case('f32/nan', op, [V([1, NAN, 2, 3])], {'dim': 0}, grad=op not in ('amax', 'amin'))
        case('f32/inf', op, [T([2, 2], data=[INF, 1, -INF, 2])], {'dim': 1})
        if op != 'prod':
            case('f32/dims02', op, [x(F32, kind)], {'dim': [0, 2]})
            case('f32/dims_keepdim', op, [x(F32, kind)], {'dim': [-1, 0], 'keepdim': True})
        if op != 'mean':
            case('i64/all', op, [T([3, 4], I64, 'small' if op == 'prod' else 'normal')])
            case('i64/dim0', op, [T([3, 4], I64, 'small' if op == 'prod' else 'normal')], {'dim': 0})
            case('i32/dim1', op, [T([3, 4], I32, 'small' if op == 'prod' else 'normal')], {'dim': 1})
            case('bool/all', op, [T([6], BOOL)])
    for op in ('sum', 'mean', 'prod'):
        case('empty/all', op, [T([0, 3])])
        case('empty/dim0', op, [T([0, 3])], {'dim': 0})
        case('empty/dim1', op, [T([0, 3])], {'dim': 1})
    case('bool/dim', 'sum', [T([3, 4], BOOL)], {'dim': 1})
    case('dtype_f64', 'sum', [T([2, 3])], {'dim': 1, 'dtype': F64})
    case('i64_dtype_f32', 'sum', [T([5], I64)], {'dtype': F32})
    case('empty_dims', 'amax', [T([0, 3])], {'dim': 1})
    case('zeros_in_product', 'prod', [V([2, 0, 3, -0.5])])
    case('zeros_in_product_dim', 'prod', [T([2, 3], data=[1, 0, 2, 0, 0, 3])], {'dim': 1})
    case('large', 'sum', [T([64, 17], F32, 'normal')], {'dim': 0})
    case('large_all', 'mean', [T([33, 31], F32, 'normal')])
    for op in ('max', 'min'):
        case('f32/all', op, [x()])
        case('f32/dim1', op, [x()], {'dim': 1})
        case('f32/dim1_keepdim', op, [x()], {'dim': 1, 'keepdim': True})
        case('f32/dim-1', op, [x()], {'dim': -1})
        case('f64/dim0', op, [T([3, 4], F64)], {'dim': 0})
        case('i64/dim1', op, [T([3, 4], I64)], {'dim': 1})
        case('i64/all', op, [T([3, 4], I64)])
        case('bool/all', op, [T([5], BOOL)])
        case('bool/dim', op, [T([2, 3], BOOL)], {'dim': 1})
        case('ties/all', op, [V([1, 3, 3, 1, -2, -2])])
        case('ties/dim', op, [T([2, 4], data=[1, 3, 3, 1, -2, -2, 0, -2])], {'dim': 1})
        case('nan/all', op, [V([1, NAN, 3])])
        case('nan/dim', op, [T([2, 3], data=[1, NAN, 3, 2, 5, NAN])], {'dim': 1})
        case('inf/dim', op, [T([2, 2], data=[INF, -INF, -INF, -INF])], {'dim': 1})
        case('0d/all', op, [T([])])
        case('0d/dim', op, [T([])], {'dim': 0})
        case('transposed/dim', op, [T([4, 3], view='T')], {'dim': 0})
        case('empty/dim', op, [T([0, 3])], {'dim': 1})
    for op in ('argmax', 'argmin'):
        case('f32/all', op, [x()])
        case('f32/dim1', op, [x()], {'dim': 1})
        case('f32/dim1_keepdim', op, [x()], {'dim': 1, 'keepdim': True})
        case('f32/dim-1', op, [x()], {'dim': -1})
        case('i64/dim0', op, [T([3, 4], I64)], {'dim': 0})
        case('i32/all', op, [T([3, 4], I32)])
        case('ties/all', op, [V([1, 3, 3, 1, -2, -2])])
        case('ties/dim', op, [T([2, 4], data=[1, 3, 3, 1, -2, -2, 0, -2])], {'dim': 1})
        case('nan/all', op, [V([1, NAN, 3, NAN])])
        case('nan/dim', op, [T([2, 3], data=[1, NAN, 3, 2, 5, NAN])], {'dim': 1})
        case('inf', op, [V([-INF, INF, 0, INF, -INF])])
        case('0d', op, [T([])])
        case('0d/dim', op, [T([])], {'dim': 0})
        case('transposed', op, [T([4, 3], view='T')], {'dim': 1})
        case('strided', op, [T([2, 8], view='step')], {'dim': -1, 'keepdim': True})
    for op in ('var', 'std'):
        case('f32/all', op, [x()])
        case('f32/all_biased', op, [x()], {'unbiased': False})
        case('f32/dim1', op, [x()], {'dim': 1})
        case('f32/dim1_biased_keepdim', op, [x()], {'dim': 1, 'unbiased': False, 'keepdim': True})
        case('f32/dims', op, [x()], {'dim': [0, 2]})
        case('f64/dim-1', op, [x(F64)], {'dim': -1})
        case('single', op, [V([2.5])], {'dim': 0})
        case('single_biased', op, [V([2.5])], {'dim': 0, 'unbiased': False})
        case('constant', op, [V([1.5, 1.5, 1.5])])
        case('offset', op, [T([8], data=[1000.5, 1001, 999.25, 1000, 1000.75, 999.5, 1001.25, 1000])])
        case('transposed', op, [T([5, 3], view='T')], {'dim': 1})
        case('nan', op, [V([1, NAN, 2])])
    case('f32/dim1', 'logsumexp', [x()], {'dim': 1})
    case('f32/dim-1_keepdim', 'logsumexp', [x()], {'dim': -1, 'keepdim': True})
    case('f32/dims', 'logsumexp', [x()], {'dim': [0, 2]})
    case('f64/dim0', 'logsumexp', [T([3, 4], F64)], {'dim': 0})
    case('neg_inf_rows', 'logsumexp', [T([3, 3], data=[-INF, -INF, -INF, -INF, 0, 1, 2, -INF, 3])], {'dim': 1})
    case('pos_inf', 'logsumexp', [T([2, 2], data=[INF, 1, INF, INF])], {'dim': 1})
    case('nan', 'logsumexp', [T([2, 2], data=[NAN, 1, 0, 1])], {'dim': 1})
    case('large', 'logsumexp', [V([1000, 1000.5, 999])], {'dim': 0})
    case('i64', 'logsumexp', [T([2, 3], I64)], {'dim': 1})
    case('0d', 'logsumexp', [T([])], {'dim': 0})
    case('empty', 'logsumexp', [T([2, 0])], {'dim': 1})
    case('transposed', 'logsumexp', [T([4, 3], view='T')], {'dim': 1})
    for op in ('all', 'any'):
        case('bool/all', op, [T([6], BOOL)])
        case('bool/dim', op, [T([3, 4], BOOL)], {'dim': 1})
        case('bool/dim_keepdim', op, [T([3, 4], BOOL)], {'dim': 0, 'keepdim': True})
        case('f32', op, [V([0, 1.5, NAN, -0.0])])
        case('f32/dim', op, [T([2, 2], data=[0, 0, 1, -0.0])], {'dim': 1})
        case('i64', op, [V([0, 3, -1], I64)])
        case('empty', op, [T([0], BOOL)])
        case('empty/dim', op, [T([2, 0], BOOL)], {'dim': 1})
        case('all_true', op, [V([1, 1, 1], BOOL)])
        case('all_false', op, [V([0, 0, 0], BOOL)])
        case('transposed', op, [T([3, 2], BOOL, view='T')], {'dim': 1})


# ----------------------------------------------------------------------------- shape ops

def shapes():
    category('shape')
    x = T([2, 3, 4])
    for op in ('reshape', 'view'):
        case('flat', op, [x], {'shape': [24]})
        case('infer', op, [x], {'shape': [4, -1]})
        case('infer_mid', op, [x], {'shape': [2, -1, 3]})
        case('to_0d', op, [T([1])], {'shape': []})
        case('from_0d', op, [T([])], {'shape': [1, 1]})
        case('empty', op, [T([0, 3])], {'shape': [3, 0, 2]})
        case('i64', op, [T([6], I64)], {'shape': [3, 2]})
        case('bool', op, [T([6], BOOL)], {'shape': [2, 3]})
    case('transposed', 'reshape', [T([3, 4], view='T')], {'shape': [-1]})
    case('strided', 'reshape', [T([2, 8], view='step')], {'shape': [2, 2, 2]})
    case('transposed_split', 'reshape', [T([2, 3, 4], view='T')], {'shape': [2, 2, 2, 3]})
    case('3d', 'permute', [x], {'dims': [2, 0, 1]})
    case('negative', 'permute', [x], {'dims': [-1, -3, -2]})
    case('0d', 'permute', [T([])], {'dims': []})
    case('i64', 'permute', [T([2, 3], I64)], {'dims': [1, 0]})
    case('transposed', 'permute', [T([2, 3, 4], view='T')], {'dims': [1, 2, 0]})
    case('01', 'transpose', [x], {'dim0': 0, 'dim1': 1})
    case('negative', 'transpose', [x], {'dim0': -1, 'dim1': 0})
    case('same', 'transpose', [x], {'dim0': 1, 'dim1': 1})
    case('bool', 'transpose', [T([2, 3], BOOL)], {'dim0': 0, 'dim1': 1})
    case('3d', 'swapaxes', [x], {'dim0': 0, 'dim1': 2})
    case('2d', 't', [T([2, 3])])
    case('1d', 't', [T([3])])
    case('0d', 't', [T([])])
    case('3d', 'T', [x])
    case('2d', 'T', [T([2, 3], I64)])
    case('3d', 'mT', [x])
    case('all', 'squeeze', [T([1, 3, 1, 2])])
    case('dim', 'squeeze', [T([1, 3, 1, 2])], {'dim': 2})
    case('negative_dim', 'squeeze', [T([1, 3, 1, 2])], {'dim': -4})
    case('non_one', 'squeeze', [T([1, 3, 1, 2])], {'dim': 1})
    case('0d', 'squeeze', [T([])])
    case('to_0d', 'squeeze', [T([1, 1])])
    case('0', 'unsqueeze', [T([2, 3])], {'dim': 0})
    case('last', 'unsqueeze', [T([2, 3])], {'dim': 2})
    case('negative', 'unsqueeze', [T([2, 3])], {'dim': -2})
    case('0d', 'unsqueeze', [T([])], {'dim': 0})
    case('i64', 'unsqueeze', [T([3], I64)], {'dim': 1})
    case('new_dims', 'expand', [T([3, 1])], {'sizes': [2, 3, 4]})
    case('minus_one', 'expand', [T([3, 1])], {'sizes': [-1, 5]})
    case('0d', 'expand', [T([])], {'sizes': [2, 2]})
    case('to_empty', 'expand', [T([1, 3])], {'sizes': [0, 3]})
    case('bool', 'expand', [T([1, 2], BOOL)], {'sizes': [3, 2]})
    case('transposed', 'expand', [T([1, 3], view='T')], {'sizes': [3, 4]})
    case('basic', 'expandAs', [T([3, 1]), T([2, 3, 4])])
    case('2d', 'repeat', [T([2, 3])], {'sizes': [2, 2]})
    case('new_dims', 'repeat', [T([3])], {'sizes': [2, 1, 2]})
    case('ones', 'repeat', [T([2, 2])], {'sizes': [1, 1]})
    case('zero', 'repeat', [T([2])], {'sizes': [0]})
    case('i64', 'repeat', [T([2], I64)], {'sizes': [3]})
    case('transposed', 'repeat', [T([2, 3], view='T')], {'sizes': [1, 2]})
    case('all', 'flatten', [x])
    case('range', 'flatten', [x], {'start': 1})
    case('end', 'flatten', [x], {'start': 0, 'end': 1})
    case('negative', 'flatten', [T([2, 3, 4, 2])], {'start': -3, 'end': -2})
    case('0d', 'flatten', [T([])])
    case('transposed', 'flatten', [T([3, 4], view='T')])
    case('one', 'flip', [x], {'dims': [0]})
    case('two', 'flip', [x], {'dims': [0, 2]})
    case('negative', 'flip', [x], {'dims': [-1]})
    case('none', 'flip', [x], {'dims': []})
    case('i64', 'flip', [T([5], I64)], {'dims': [0]})
    case('transposed', 'flip', [T([3, 4], view='T')], {'dims': [1]})
    case('dim0', 'cat', [T([2, 3]), T([1, 3])], {'dim': 0})
    case('dim1', 'cat', [T([2, 3]), T([2, 2]), T([2, 1])], {'dim': 1})
    case('dim-1', 'cat', [T([2, 2, 1]), T([2, 2, 3])], {'dim': -1})
    case('single', 'cat', [T([2, 3])], {'dim': 0})
    case('mixed_dtypes', 'cat', [T([2], I64), T([3], F32)], {'dim': 0})
    case('i64', 'cat', [T([2], I64), T([1], I64)], {'dim': 0})
    case('bool', 'cat', [T([2], BOOL), T([2], BOOL)], {'dim': 0})
    case('legacy_empty', 'cat', [T([2, 3]), T([0])], {'dim': 0})
    case('empty_part', 'cat', [T([2, 3]), T([0, 3])], {'dim': 0})
    case('transposed', 'cat', [T([3, 2], view='T'), T([2, 6], view='step')], {'dim': 0})
    case('dim0', 'stack', [T([2, 3]), T([2, 3])], {'dim': 0})
    case('dim1', 'stack', [T([2, 3]), T([2, 3]), T([2, 3])], {'dim': 1})
    case('dim-1', 'stack', [T([2, 3]), T([2, 3])], {'dim': -1})
    case('0d', 'stack', [T([]), T([])], {'dim': 0})
    case('i64', 'stack', [T([2], I64), T([2], I64)], {'dim': 0})
    case('even', 'split', [T([6, 2])], {'size': 2})
    case('uneven', 'split', [T([5, 2])], {'size': 2})
    case('dim1', 'split', [T([2, 5])], {'size': 3, 'dim': 1})
    case('sizes', 'split', [T([6, 2])], {'size': [1, 2, 3]})
    case('sizes_zero', 'split', [T([3])], {'size': [0, 3]})
    case('i64', 'split', [T([4], I64)], {'size': 3})
    case('even', 'chunk', [T([6, 2])], {'chunks': 3})
    case('uneven', 'chunk', [T([5, 2])], {'chunks': 3})
    case('more_chunks', 'chunk', [T([2, 3])], {'chunks': 4, 'dim': 1})
    case('dim0', 'unbind', [T([3, 2])])
    case('dim1', 'unbind', [T([3, 2])], {'dim': 1})
    case('basic', 'narrow', [T([4, 3])], {'dim': 0, 'start': 1, 'length': 2})
    case('negative_start', 'narrow', [T([4, 3])], {'dim': 1, 'start': -2, 'length': 2})
    case('empty', 'narrow', [T([4, 3])], {'dim': 0, 'start': 2, 'length': 0})
    case('transposed', 'narrow', [T([4, 3], view='T')], {'dim': 1, 'start': 1, 'length': 3})
    case('basic', 'select', [T([4, 3])], {'dim': 0, 'index': 2})
    case('negative', 'select', [T([4, 3])], {'dim': -1, 'index': -1})
    case('3d', 'select', [x], {'dim': 1, 'index': 1})
    case('i64', 'select', [T([3, 2], I64)], {'dim': 1, 'index': 0})
    idx = [
        ('int', [1]), ('slice', ['1:3']), ('step', ['::2']), ('step3', [':', '1::3']), ('mixed', [0, '::2', 1]),
        ('none', [None, ':', None]), ('ellipsis', ['...', 1]), ('ellipsis_mid', [1, '...', '1:']), ('negative', [-1, '-2:']),
        ('clamped', ['1:100']), ('empty_slice', ['2:1']), ('step_empty', ['3:3:2']), ('step_large', [':', ':', '::5']),
        ('negative_start_step', [':', '-3::2']),
    ]
    for name, specs in idx:
        case(name, 'index', [x], {'specs': specs})
    case('transposed_step', 'index', [T([4, 6], view='T')], {'specs': ['::2', '1:']})
    case('i64_step', 'index', [T([7], I64)], {'specs': ['1::2']})
    case('dim0', 'indexSelect', [T([4, 3]), V([0, 2, 2, 3], I64)], {'dim': 0})
    case('dim1', 'indexSelect', [T([4, 3]), V([2, 0], I64)], {'dim': 1})
    case('int32_index', 'indexSelect', [T([4, 3]), V([1], I32)], {'dim': -1})
    case('empty_index', 'indexSelect', [T([4, 3]), T([0], I64)], {'dim': 0})
    case('i64', 'indexSelect', [T([5], I64), V([4, 0], I64)], {'dim': 0})
    case('transposed', 'indexSelect', [T([4, 3], view='T'), V([3, 1], I64)], {'dim': 1})
    case('dim0', 'gather', [T([3, 4]), T([2, 4], I64, data=[0, 2, 1, 0, 2, 2, 0, 1])], {'dim': 0})
    case('dim1', 'gather', [T([3, 4]), T([3, 2], I64, data=[3, 0, 1, 1, 2, 3])], {'dim': 1})
    case('smaller', 'gather', [T([3, 4]), T([2, 2], I64, data=[1, 0, 3, 3])], {'dim': 1})
    case('3d', 'gather', [T([2, 3, 2]), T([2, 2, 2], I64, data=[0, 2, 1, 1, 2, 0, 0, 0])], {'dim': 1})
    case('i64', 'gather', [T([2, 3], I64), T([2, 2], I64, data=[2, 0, 1, 1])], {'dim': 1})
    case('f32', 'contiguous', [T([3, 2], view='T')])


# ----------------------------------------------------------------------------- linear algebra

def linalg():
    category('linalg')
    case('f32', 'mm', [T([2, 3]), T([3, 4])])
    case('f64', 'mm', [T([3, 2], F64), T([2, 3], F64)])
    case('i64', 'mm', [T([2, 3], I64), T([3, 2], I64)])
    case('transposed', 'mm', [T([3, 2], view='T'), T([4, 3], view='T')])
    case('strided', 'mm', [T([2, 6], view='step'), T([3, 2])])
    case('k0', 'mm', [T([2, 0]), T([0, 3])])
    case('n0', 'mm', [T([0, 3]), T([3, 2])])
    case('1x1', 'mm', [T([1, 1]), T([1, 1])])
    case('larger', 'mm', [T([8, 16], F32, 'small'), T([16, 5], F32, 'small')])
    case('f32', 'bmm', [T([2, 2, 3]), T([2, 3, 4])])
    case('f64', 'bmm', [T([3, 1, 2], F64), T([3, 2, 2], F64)])
    case('transposed', 'bmm', [T([2, 3, 2], view='T'), T([2, 3, 2])])
    case('f32', 'mv', [T([3, 4]), T([4])])
    case('transposed', 'mv', [T([4, 3], view='T'), T([8], view='step')])
    case('f64', 'mv', [T([2, 3], F64), T([3], F64)])
    case('f32', 'dot', [T([5]), T([5])])
    case('f64', 'dot', [T([3], F64), T([3], F64)])
    case('i64', 'dot', [T([4], I64), T([4], I64)])
    case('empty', 'dot', [T([0]), T([0])])
    case('strided', 'dot', [T([6], view='step'), T([3])])
    mm = [
        ('1d@1d', [4], [4]), ('1d@2d', [3], [3, 2]), ('2d@1d', [2, 3], [3]), ('2d@2d', [2, 3], [3, 2]),
        ('3d@3d', [2, 2, 3], [2, 3, 4]), ('3d@2d', [2, 2, 3], [3, 4]), ('2d@3d', [2, 3], [4, 3, 2]),
        ('1d@3d', [3], [2, 3, 4]), ('3d@1d', [2, 4, 3], [3]), ('broadcast_batch', [2, 1, 3, 4], [5, 4, 2]),
        ('4d@4d', [2, 1, 2, 3], [1, 3, 3, 2]), ('empty_batch', [0, 2, 3], [3, 2]),
    ]
    for name, a, b in mm:
        case(name, 'matmul', [T(a), T(b)])
    case('f64_3d@1d', 'matmul', [T([2, 2, 3], F64), T([3], F64)])
    case('i64_3d@2d', 'matmul', [T([2, 2, 3], I64), T([3, 2], I64)])
    case('transposed', 'matmul', [T([2, 4, 3], view='T'), T([2, 4], view='T')])
    for op in ('softmax', 'logSoftmax'):
        case('f32/dim1', op, [T([2, 3, 4])], {'dim': 1})
        case('f32/dim-1', op, [T([2, 3, 4])], {'dim': -1})
        case('f32/dim0', op, [T([3, 5])], {'dim': 0})
        case('f64', op, [T([3, 4], F64)], {'dim': 1})
        case('0d', op, [T([])], {'dim': 0})
        case('1d', op, [T([6])], {'dim': 0})
        case('large', op, [V([1000, 1001, 999, -1000])], {'dim': 0})
        case('masked', op, [T([2, 3], data=[-INF, 0, 1, 2, -INF, -INF])], {'dim': 1})
        case('all_masked', op, [T([2, 2], data=[-INF, -INF, 1, 2])], {'dim': 1})
        case('nan', op, [T([2, 2], data=[NAN, 0, 1, 2])], {'dim': 1})
        case('transposed', op, [T([4, 3], view='T')], {'dim': 1})
        case('strided', op, [T([2, 8], view='step')], {'dim': 0})
        case('empty', op, [T([0, 3])], {'dim': 1})


# ----------------------------------------------------------------------------- indexing

def indexing():
    category('indexing')
    t = {'t': 1}
    u = {'t': 2}
    x34 = T([3, 4])
    x345 = T([3, 4, 5])
    # gather / indexSelect / take through the indexed load
    case('dup_rows', 'gather', [T([4, 3]), T([5, 3], I64, data=[3, 0, 1, 3, 3, 3, 0, 0, 0, 2, 1, 0, 1, 1, 2])], {'dim': 0})
    case('negative_dim', 'gather', [x34, T([3, 2], I64, data=[3, 0, 1, 1, 2, 3])], {'dim': -1})
    case('transposed', 'gather', [T([4, 3], view='T'), T([2, 2], I64, data=[3, 0, 1, 2])], {'dim': 1})
    case('empty', 'gather', [x34, T([3, 0], I64)], {'dim': 1})
    case('dup', 'indexSelect', [T([5, 3]), V([4, 4, 0, 4], I64)], {'dim': 0})
    case('strided', 'indexSelect', [T([3, 8], view='step'), V([3, 1], I64)], {'dim': 1})
    case('basic', 'take', [x34, T([2, 2], I64, data=[0, 11, -1, 5])])
    # advanced indexing: pairing, broadcasting, placement, masks, negatives
    case('pair', 'indexT', [x34, V([0, 2], I64), V([1, 3], I64)], {'specs': [t, u]})
    case('idx2d', 'indexT', [x34, T([2, 2], I64, data=[0, 1, 3, 2])], {'specs': [':', t]})
    case('broadcast', 'indexT', [x345, T([2, 1], I64, data=[0, 2]), V([1, 3, 0], I64)], {'specs': [t, u]})
    case('adjacent_middle', 'indexT', [x345, V([0, 3], I64), V([4, 1], I64)], {'specs': [':', t, u]})
    case('separated', 'indexT', [x345, V([0, 2], I64), V([4, 1], I64)], {'specs': [t, ':', u]})
    case('int_and_tensor', 'indexT', [x345, V([0, 1], I64)], {'specs': [0, ':', t]})
    case('none_separates', 'indexT', [x345, V([0, 1], I64)], {'specs': [t, None, t]})
    case('ellipsis', 'indexT', [x345, V([4, 0], I64)], {'specs': ['...', t]})
    case('negative', 'indexT', [x34, V([-1, 0, -3], I64)], {'specs': [t]})
    case('slice_then', 'indexT', [x345, V([2, 0], I64)], {'specs': ['1:', t, '::2']})
    case('scalar_tensor', 'indexT', [x345, T([], I64, data=[1])], {'specs': [t]})
    case('mask', 'indexT', [x34, T([3, 4], BOOL)], {'specs': [t]})
    case('mask_rows', 'indexT', [x345, V([True, False, True], BOOL)], {'specs': [t]})
    case('mask_cols', 'indexT', [x345, V([False, True, True, False], BOOL)], {'specs': [':', t]})
    case('transposed', 'indexT', [T([4, 3], view='T'), V([2, 0], I64), V([1, 1], I64)], {'specs': [t, u]})
    case('i64_values', 'indexT', [T([3, 4], I64), V([1, 2], I64)], {'specs': [':', t]})
    case('empty', 'indexT', [x34, T([0], I64)], {'specs': [t]})
    # setitem and index_put
    case('slice', 'set', [x34], {'specs': [':', 0], 'value': 5})
    case('pair', 'set', [x34, V([0, 2], I64), V([1, 3], I64), V([-1.5, 2.5])], {'specs': [t, u], 'value_input': 3})
    case('broadcast_row', 'set', [x34, V([2, 0], I64), V([1, 2, 3, 4])], {'specs': [t], 'value_input': 2})
    case('mask', 'set', [x34, T([3, 4], BOOL)], {'specs': [t], 'value': 0})
    case('accumulate', 'indexPut', [T([5]), V([0, 3, 0, 0], I64), V([1, 2, 3, 4])], {'nidx': 1, 'accumulate': True})
    case('overwrite', 'indexPut', [x34, V([1], I64), V([2], I64), V([9.5])], {'nidx': 2})
    case('rows', 'indexPut', [x34, V([2, 0], I64), T([2, 4])], {'nidx': 1})
    # scatter family (no duplicate targets for plain scatter: PyTorch leaves their order unspecified)
    case('src', 'scatter', [T([3, 5]), T([2, 3], I64, data=[0, 4, 2, 1, 3, 0]), T([2, 3])], {'dim': 1})
    # PyTorch 1.13's backward rejects a src larger than the index: values only
    case('larger_src', 'scatter', [T([3, 5]), T([2, 3], I64, data=[0, 4, 2, 1, 3, 0]), T([2, 4])], {'dim': 1}, grad=False)
    case('value', 'scatter', [T([3, 4]), T([3, 1], I64, data=[3, 0, 2])], {'dim': 1, 'value': 7}, grad=False)
    case('dim0', 'scatter', [T([4, 2]), T([2, 2], I64, data=[3, 0, 1, 2]), T([2, 2])], {'dim': 0})
    case('reduce_add', 'scatter', [T([4]), V([1, 1, 3], I64), V([1, 2, 3])], {'dim': 0, 'reduce': 'add'}, grad=False)
    case('reduce_multiply', 'scatter', [T([4]), V([1, 1, 3], I64), V([2, 3, 4])], {'dim': 0, 'reduce': 'multiply'}, grad=False)
    case('dups', 'scatterAdd', [T([3, 4]), T([3, 3], I64, data=[0, 0, 3, 1, 1, 1, 2, 0, 2]), T([3, 3])], {'dim': 1})
    case('i64', 'scatterAdd', [T([5], I64), V([4, 4, 0], I64), V([1, 2, 3], I64)], {'dim': 0})
    case('dups', 'indexAdd', [T([4, 3]), V([0, 3, 0], I64), T([3, 3])], {'dim': 0})
    case('alpha_dim1', 'indexAdd', [T([2, 4]), V([3, 1], I64), T([2, 2])], {'dim': 1, 'alpha': 2})
    case('basic', 'indexCopy', [T([4, 3]), V([3, 0], I64), T([2, 3])], {'dim': 0})
    case('basic', 'maskedFill', [x34, T([3, 4], BOOL)], {'value': -2.5})
    case('broadcast', 'maskedFill', [x34, V([True, False, False, True], BOOL)], {'value': 1})
    case('basic', 'oneHot', [V([0, 3, 1, 1], I64)], {'n': 5})
    case('infer', 'oneHot', [T([2, 2], I64, data=[2, 0, 1, 2])])
    case('basic', 'nonzero', [T([3, 4], data=[0, 1, 0, 2, 0, 0, 0, 0, 3, 0, -1, 0])])
    case('bool_3d', 'nonzero', [T([2, 2, 3], BOOL)])
    case('empty', 'nonzero', [T([2, 3], data=[0] * 6)])
    # scans
    for op in ('cumsum', 'cumprod', 'logcumsumexp'):
        case('dim1', op, [x34], {'dim': 1})
        case('dim0', op, [T([5, 3], kind='unit')], {'dim': 0})
        case('negative_dim', op, [x345], {'dim': -2})
        case('transposed', op, [T([4, 3], view='T')], {'dim': 1})
        case('empty', op, [T([0, 3])], {'dim': 0})
        case('scalar', op, [T([])], {'dim': 0})
    case('long_row', 'cumsum', [T([2, 300], kind='unit')], {'dim': 1})
    # longer than 2048: scanned in blocks (the block scans, their totals, the carry)
    case('blocked', 'cumsum', [T([2100], kind='unit')], {'dim': 0})
    case('blocked', 'cummax', [T([2100])], {'dim': 0})
    case('i32', 'cumsum', [T([2, 3], I32)], {'dim': 1})
    case('bool', 'cumsum', [T([6], BOOL)], {'dim': 0})
    case('i64', 'cumprod', [T([2, 4], I64, kind='small')], {'dim': 1})
    case('large', 'logcumsumexp', [V([100, 101, 99, 102])], {'dim': 0})
    for op in ('cummax', 'cummin'):
        case('ties', op, [V([1, 3, 2, 3, 0, 3, -1, -1])], {'dim': 0})
        case('dim1', op, [x34], {'dim': 1})
        case('dim0', op, [T([4, 3])], {'dim': 0})
        case('nan', op, [V([1, NAN, 2, NAN, 0])], {'dim': 0})
        case('i64', op, [T([2, 5], I64)], {'dim': 1})
        case('empty', op, [T([0, 3])], {'dim': 1})
    # sorting (stable: equal values keep their order; NaN is the largest value)
    ties = V([3, 1, 2, 1, 3, 0, 2, 1, -0.0, 0])
    case('ties', 'sort', [ties], {'dim': 0})
    case('ties_descending', 'sort', [ties], {'dim': 0, 'descending': True})
    case('nan', 'sort', [V([2, NAN, -1, INF, NAN, -INF, 0])], {'dim': 0})
    case('nan_descending', 'sort', [V([2, NAN, -1, INF, NAN, -INF, 0])], {'dim': 0, 'descending': True})
    case('dim1', 'sort', [T([3, 7])], {'dim': 1})
    case('dim0', 'sort', [T([6, 2])], {'dim': 0, 'descending': True})
    case('negative_dim', 'sort', [T([2, 5, 3])], {'dim': -2})
    case('transposed', 'sort', [T([5, 3], view='T')], {'dim': 1})
    case('i64', 'sort', [T([2, 9], I64)], {'dim': 1})
    case('empty', 'sort', [T([0, 3])], {'dim': 1})
    case('length_1', 'sort', [T([3, 1])], {'dim': 1})
    case('long', 'sort', [T([2, 100])], {'dim': 1})
    case('ties', 'argsort', [ties], {'dim': 0, 'descending': True})
    case('i32', 'argsort', [T([3, 4], I32)], {'dim': 0})
    distinct = T([3, 6], data=[float(v) for v in RNG.permutation(18)])
    case('largest', 'topk', [distinct], {'k': 3, 'dim': 1})
    case('smallest', 'topk', [distinct], {'k': 2, 'dim': 0, 'largest': False})
    case('all', 'topk', [distinct], {'k': 6, 'dim': -1})
    case('zero', 'topk', [distinct], {'k': 0, 'dim': 1})
    # long enough that the candidates are halved block by block instead of sorted whole
    wide = T([2, 40], data=[float(v) for v in RNG.permutation(80)])
    case('halving', 'topk', [wide], {'k': 3, 'dim': 1})
    case('halving_smallest', 'topk', [wide], {'k': 5, 'dim': -1, 'largest': False})
    case('halving_dim0', 'topk', [T([37, 2], data=[float(v) for v in RNG.permutation(74)])], {'k': 2, 'dim': 0})
    case('basic', 'kthvalue', [distinct], {'k': 2, 'dim': 1})
    case('keepdim', 'kthvalue', [distinct], {'k': 3, 'dim': 0, 'keepdim': True})
    case('k', 'topk', [T([3, 4])], {'k': 5, 'dim': 1}, error='selected index k out of range')
    # rows long enough for the cpu routine's radix passes (and the network's padding elsewhere): ties
    # keep their order (stable), NaN is the largest, -0 equals 0; int dtypes; topk and kthvalue
    # select (k = 0, k = n, NaN first when largest); a stream of their own, so no other case moves
    with own_stream('sort/routine'):
        many_ties = T([2, 300], data=[float(v) for v in RNG.randint(-4, 5, 600)])
        case('long_ties', 'sort', [many_ties], {'dim': 1})
        case('long_ties_descending', 'sort', [many_ties], {'dim': 1, 'descending': True})
        special = [NAN, -0.0, 0.0, INF, -INF, 1.5, -1.5]
        case('long_nan', 'sort', [V([special[i] for i in RNG.randint(0, 7, 200)])], {'dim': 0})
        case('long_nan_descending', 'sort', [V([special[i] for i in RNG.randint(0, 7, 200)])], {'dim': 0, 'descending': True})
        case('dim0_long', 'sort', [T([70, 3], data=[float(v) for v in RNG.randint(-3, 4, 210)])], {'dim': 0, 'descending': True})
        case('f64', 'sort', [T([3, 50], F64)], {'dim': 1, 'descending': True})
        case('u8', 'sort', [T([2, 40], U8, data=[int(v) for v in RNG.randint(0, 256, 80)])], {'dim': 1, 'descending': True})
        case('bool', 'sort', [T([2, 9], BOOL)], {'dim': 1})
        case('i32_long_ties', 'argsort', [T([2, 100], I32)], {'dim': 1})
        case('i64_descending', 'argsort', [T([40, 2], I64)], {'dim': 0, 'descending': True})
        case('nan', 'topk', [V([1, NAN, 3, 0, 2])], {'k': 2})
        case('nan_smallest_all', 'topk', [V([1, NAN, 3, 0, 2])], {'k': 5, 'largest': False})
        wide_distinct = T([2, 500], data=[float(v) for v in RNG.permutation(1000)])
        case('wide', 'topk', [wide_distinct], {'k': 7, 'dim': 1})
        case('wide_smallest', 'topk', [wide_distinct], {'k': 4, 'dim': 1, 'largest': False})
        case('wide_all', 'topk', [wide_distinct], {'k': 500, 'dim': 1, 'largest': False})
        case('wide_zero', 'topk', [wide_distinct], {'k': 0, 'dim': 1})
        case('wide_dim0', 'topk', [T([500, 2], data=[float(v) for v in RNG.permutation(1000)])], {'k': 3, 'dim': 0})
        case('i64', 'topk', [T([2, 50], I64, data=[int(v) - 50 for v in RNG.permutation(100)])], {'k': 4, 'dim': 1})
        case('i32_smallest', 'topk', [T([3, 40], I32, data=[int(v) - 60 for v in RNG.permutation(120)])], {'k': 5, 'dim': 1, 'largest': False})
        case('u8', 'topk', [T([2, 100], U8, data=[int(v) for v in RNG.permutation(200)])], {'k': 3, 'dim': 1})
        case('long', 'kthvalue', [T([2, 300], data=[float(v) for v in RNG.permutation(600)])], {'k': 150, 'dim': 1})
        case('nan', 'kthvalue', [T([2, 5], data=[1, NAN, 3, 0, 2, 5, 4, NAN, 7, 1])], {'k': 5, 'dim': 1})
        case('i32_dim0', 'kthvalue', [T([30, 2], I32, data=[int(v) for v in RNG.permutation(60)])], {'k': 1, 'dim': 0, 'keepdim': True})
        case('k_zero', 'kthvalue', [T([3, 4])], {'k': 0, 'dim': -1}, error='kthvalue(): selected number k out of range for dimension 1')
        case('k_large', 'kthvalue', [T([3, 4])], {'k': 5, 'dim': 1}, error='kthvalue(): selected number k out of range for dimension 1')
        case('k_negative', 'topk', [T([3, 4])], {'k': -1, 'dim': 1}, error='selected index k out of range')
        case('dim', 'sort', [T([3, 4])], {'dim': 2}, error='Dimension out of range (expected to be in range of [-2, 1], but got 2)')
        # msort and median (lower median; a NaN anywhere: NaN, the first NaN's position); distinct values,
        # as PyTorch's position among equal medians is its selection's
        case('basic', 'msort', [T([5, 3], data=[float(v) for v in RNG.permutation(15)])])
        case('i64', 'msort', [T([6, 2], I64)])
        case('all', 'median', [T([3, 5], data=[float(v) for v in RNG.permutation(15)])])
        case('even', 'median', [V([4, 1, 3, 2])])
        case('nan', 'median', [V([4, 1, NAN, 2])])
        case('empty', 'median', [T([0, 3])])
        case('i32', 'median', [T([2, 3], I32, data=[5, -1, 3, 0, 7, 2])])
        case('dim1', 'median', [T([3, 6], data=[float(v) for v in RNG.permutation(18)])], {'dim': 1})
        case('dim0_keepdim', 'median', [T([7, 3], data=[float(v) for v in RNG.permutation(21)])], {'dim': 0, 'keepdim': True})
        case('long', 'median', [T([2, 301], data=[float(v) for v in RNG.permutation(602)])], {'dim': -1})
        case('nan_rows', 'median', [T([2, 5], data=[3, NAN, 1, NAN, 2, 4, 1, 3, 2, 5])], {'dim': 1})
        case('i64_dim', 'median', [T([2, 5], I64, data=[int(v) for v in RNG.permutation(10)])], {'dim': 1})
        # over every element the gradient is shared by the elements equal to the median (the NaNs when NaN)
        case('ties', 'median', [V([2, 1, 2, 3, 2])])
        case('nans', 'median', [V([1, NAN, 3, NAN])])
        case('empty_dim', 'median', [T([3, 0])], {'dim': 1}, error='median(): Expected reduction dim 1 to have non-zero size.')
        case('all', 'nanmedian', [V([3, NAN, 1, NAN, 2])])
        case('all_nan', 'nanmedian', [V([NAN, NAN])])
        case('empty', 'nanmedian', [T([0])])
        case('dim1', 'nanmedian', [T([2, 6], data=[3, NAN, 1, NAN, 2, 7, 4, 1, 3, 2, 5, 0])], {'dim': 1})
        case('dim0_keepdim', 'nanmedian', [T([5, 2], data=[1, NAN, 4, 2, NAN, 3, 0, 9, 8, NAN])], {'dim': 0, 'keepdim': True})
        case('i64', 'nanmedian', [T([2, 4], I64, data=[4, 1, 3, 2, 0, 7, 5, 6])], {'dim': 1})
        case('empty_dim', 'nanmedian', [T([3, 0])], {'dim': 1}, error='median(): Expected reduction dim 1 to have non-zero size.')
    # out-of-range and negative indices: PyTorch's messages
    case('i32_index', 'gather', [x34, T([1, 4], I32, data=[2, 0, 1, 2])], {'dim': 0}, error='gather(): Expected dtype int64 for index')
    case('i32_index', 'scatterAdd', [T([3]), V([1], I32), V([1])], {'dim': 0}, error='scatter(): Expected dtype int64 for index')
    case('oob', 'gather', [x34, T([1, 1], I64, data=[5])], {'dim': 1}, error='index 5 is out of bounds for dimension 1 with size 4')
    case('negative', 'gather', [x34, T([1, 1], I64, data=[-1])], {'dim': 1}, error='index -1 is out of bounds for dimension 1 with size 4')
    case('oob', 'indexSelect', [x34, V([3], I64)], {'dim': 0}, error='index out of range in self')
    case('negative', 'indexSelect', [x34, V([-1], I64)], {'dim': 0}, error='index out of range in self')
    case('oob', 'indexT', [x34, V([0, 3], I64)], {'specs': [t]}, error='index 3 is out of bounds for dimension 0 with size 3')
    case('oob_negative', 'indexT', [x34, V([-4], I64)], {'specs': [t]}, error='index -4 is out of bounds for dimension 0 with size 3')
    case('oob_second', 'indexT', [x345, V([0], I64), V([9], I64)], {'specs': [t, ':', u]}, error='index 9 is out of bounds for dimension 1 with size 5')
    case('oob_cols', 'indexT', [x34, V([7], I64)], {'specs': [':', t]}, error='index 7 is out of bounds for dimension 0 with size 4')
    case('broadcast', 'indexT', [x34, V([0, 1, 2], I64), V([0, 1], I64)], {'specs': [t, u]}, error='shape mismatch: indexing tensors could not be broadcast together with shapes [3], [2]')
    case('mask_shape', 'indexT', [x345, V([True, False], BOOL)], {'specs': [t]}, error='The shape of the mask [2] at index 0 does not match the shape of the indexed tensor [3, 4, 5] at index 0')
    case('oob', 'take', [x34, V([12], I64)], error='out of range: tried to access index 12 on a tensor of 12 elements.')
    case('oob', 'scatter', [T([3]), V([5], I64), V([1])], {'dim': 0}, error='index 5 is out of bounds for dimension 0 with size 3')
    case('negative', 'scatterAdd', [T([3]), V([-1], I64), V([1])], {'dim': 0}, error='index -1 is out of bounds for dimension 0 with size 3')
    case('oob', 'indexAdd', [T([3]), V([5], I64), V([1])], {'dim': 0}, error='index out of range in self')
    case('oob', 'indexCopy', [T([3]), V([5], I64), V([1])], {'dim': 0}, error='index_copy_(): index 5 is out of bounds for dimension 0 with size 3')
    case('oob', 'indexPut', [T([3]), V([5], I64), V([1])], {'nidx': 1}, error='index 5 is out of bounds for dimension 0 with size 3')
    case('too_large', 'oneHot', [V([5], I64)], {'n': 3}, error='Class values must be smaller than num_classes.')
    case('negative', 'oneHot', [V([-1], I64)], {'n': 3}, error='Class values must be non-negative.')


# ----------------------------------------------------------------------------- errors

def errors():
    category('errors')
    case('broadcast', 'add', [T([2, 3]), T([4])], error='must match the size of tensor b')
    case('broadcast_3d', 'mul', [T([2, 3, 4]), T([3, 3])], error='must match the size of tensor b')
    case('broadcast', 'where', [T([2], BOOL), T([3]), T([3])], error='must match the size of tensor b')
    case('shapes', 'mm', [T([2, 3]), T([4, 5])], error='mat1 and mat2 shapes cannot be multiplied')
    case('2d@2d', 'matmul', [T([2, 3]), T([2, 3])], error='mat1 and mat2 shapes cannot be multiplied')
    case('batch', 'bmm', [T([2, 2, 3]), T([2, 4, 3])], error='Expected size for first two dimensions of batch2 tensor')
    case('sizes', 'dot', [T([3]), T([4])], error='inconsistent tensor size')
    case('invalid_size', 'reshape', [T([2, 3])], {'shape': [4, 2]}, error="shape '[4, 2]' is invalid for input of size 6")
    case('invalid_infer', 'reshape', [T([2, 3])], {'shape': [-1, 4]}, error='is invalid for input of size 6')
    case('two_infer', 'view', [T([2, 3])], {'shape': [-1, -1]}, error='only one dimension can be inferred')
    case('dim', 'sum', [T([2, 3])], {'dim': 2}, error='Dimension out of range')
    case('negative_dim', 'softmax', [T([2, 3])], {'dim': -3}, error='Dimension out of range')
    case('dim', 'transpose', [T([2, 3])], {'dim0': 0, 'dim1': 3}, error='Dimension out of range')
    case('dim', 'unsqueeze', [T([2, 3])], {'dim': 3}, error='Dimension out of range')
    case('dim', 'argmax', [T([2, 3])], {'dim': -3}, error='Dimension out of range')
    case('dim', 'cat', [T([2, 3]), T([2, 3])], {'dim': 2}, error='Dimension out of range')
    case('sizes', 'cat', [T([2, 3]), T([2, 4])], {'dim': 0}, error='Sizes of tensors must match except in dimension 0')
    case('sizes', 'stack', [T([2, 3]), T([2, 4])], error='stack expects each tensor to be equal size')
    case('size', 'expand', [T([2, 3])], {'sizes': [3, 3]}, error='The expanded size of the tensor (3) must match the existing size (2)')
    case('size', 'mv', [T([2, 3]), T([4])], error='size mismatch, got 2, 2x3,4')
    case('2d@1d', 'matmul', [T([2, 3]), T([4])], error='size mismatch')
    case('3d@2d', 'matmul', [T([2, 2, 3]), T([4, 5])], error='mat1 and mat2 shapes cannot be multiplied')
    case('1d@3d', 'matmul', [T([3]), T([2, 4, 5])], error='size mismatch')
    case('2d@3d', 'matmul', [T([2, 3]), T([2, 4, 5])], error='mat1 and mat2 shapes cannot be multiplied')
    case('1d@2d', 'matmul', [T([4]), T([3, 2])], error='mat1 and mat2 shapes cannot be multiplied')
    case('batch_broadcast', 'matmul', [T([2, 2, 3]), T([3, 3, 5])], error='must match the size of tensor b')
    case('invalid_size_3d', 'reshape', [T([2, 3, 4])], {'shape': [5, -1]}, error="shape '[5, -1]' is invalid for input of size 24")
    case('dim', 'select', [T([2, 3])], {'dim': 2, 'index': 0}, error='Dimension out of range')
    case('dim', 'flatten', [T([2, 3])], {'start': 0, 'end': 2}, error='Dimension out of range')
    case('dim', 'gather', [T([2, 3]), T([2, 3], I64, data=[0] * 6)], {'dim': 2}, error='Dimension out of range')
    case('dim', 'max', [T([2, 3])], {'dim': 2}, error='Dimension out of range')
    case('dim', 'logsumexp', [T([2, 3])], {'dim': -3}, error='Dimension out of range')
    case('length', 'narrow', [T([2, 3])], {'dim': 0, 'start': 1, 'length': 2}, error='start (1) + length (2) exceeds dimension size (2).')



# ----------------------------------------------------------------------------- nn

def nn():
    category('nn')
    # convolutions: strides, padding (ints, 'same', 'valid'), dilation, groups, bias, unbatched, non-contiguous
    case('basic', 'conv2d', [T([2, 3, 5, 5]), T([4, 3, 3, 3], F32, 'small'), T([4])])
    case('no_bias', 'conv2d', [T([1, 2, 4, 5]), T([3, 2, 2, 3], F32, 'small')])
    case('stride_pad', 'conv2d', [T([2, 2, 6, 5]), T([3, 2, 3, 3], F32, 'small'), T([3])], {'kw': {'stride': 2, 'padding': 1}})
    case('stride_tuple', 'conv2d', [T([1, 2, 7, 6]), T([2, 2, 3, 2], F32, 'small')], {'kw': {'stride': [2, 3], 'padding': [1, 0]}})
    case('dilation', 'conv2d', [T([1, 2, 7, 7]), T([2, 2, 3, 3], F32, 'small')], {'kw': {'dilation': 2, 'padding': 1}})
    case('groups', 'conv2d', [T([2, 4, 5, 5]), T([6, 2, 3, 3], F32, 'small'), T([6])], {'kw': {'groups': 2, 'padding': 1}})
    case('depthwise', 'conv2d', [T([1, 3, 5, 4]), T([3, 1, 3, 3], F32, 'small')], {'kw': {'groups': 3, 'stride': 2, 'padding': 1}})
    case('same', 'conv2d', [T([1, 2, 5, 6]), T([3, 2, 4, 3], F32, 'small')], {'kw': {'padding': 'same', 'dilation': [1, 2]}})
    case('valid', 'conv2d', [T([1, 2, 5, 5]), T([2, 2, 3, 3], F32, 'small')], {'kw': {'padding': 'valid'}})
    case('pointwise', 'conv2d', [T([2, 4, 3, 3]), T([5, 4, 1, 1], F32, 'small'), T([5])])
    case('unbatched', 'conv2d', [T([2, 4, 4]), T([3, 2, 3, 3], F32, 'small')], {'kw': {'padding': 1}})
    case('f64', 'conv2d', [T([1, 2, 4, 4], F64), T([2, 2, 3, 3], F64, 'small'), T([2], F64)], {'kw': {'padding': 1}})
    case('strided_input', 'conv2d', [T([1, 2, 4, 10], view='step'), T([2, 2, 3, 3], F32, 'small')])
    case('transposed_input', 'conv2d', [T([1, 2, 5, 4], view='T'), T([2, 2, 2, 2], F32, 'small')])
    case('basic', 'conv1d', [T([2, 3, 8]), T([4, 3, 3], F32, 'small'), T([4])], {'kw': {'stride': 2, 'padding': 2, 'dilation': 2}})
    case('groups', 'conv1d', [T([1, 4, 6]), T([4, 2, 2], F32, 'small')], {'kw': {'groups': 2}})
    case('basic', 'conv3d', [T([1, 2, 4, 4, 3]), T([2, 2, 2, 3, 2], F32, 'small'), T([2])], {'kw': {'padding': [1, 0, 1], 'stride': [1, 2, 1]}})
    case('basic', 'convTranspose2d', [T([2, 3, 3, 3]), T([3, 2, 3, 3], F32, 'small'), T([2])])
    case('stride', 'convTranspose2d', [T([1, 2, 3, 4]), T([2, 3, 3, 2], F32, 'small')], {'kw': {'stride': 2, 'padding': 1, 'outputPadding': 1}})
    case('groups_dilation', 'convTranspose2d', [T([1, 4, 3, 3]), T([4, 1, 2, 2], F32, 'small'), T([2])], {'kw': {'groups': 2, 'dilation': 2, 'stride': [2, 1]}})
    case('crop', 'convTranspose2d', [T([1, 1, 4, 4]), T([1, 2, 2, 2], F32, 'small')], {'kw': {'padding': 2}})
    case('basic', 'convTranspose1d', [T([2, 2, 5]), T([2, 3, 3], F32, 'small')], {'kw': {'stride': 3, 'padding': 1}})
    # pooling
    case('basic', 'maxPool2d', [T([2, 2, 4, 4])], {'kw': {'kernelSize': 2}})
    case('stride_pad', 'maxPool2d', [T([1, 2, 5, 5])], {'kw': {'kernelSize': 3, 'stride': 2, 'padding': 1}})
    case('dilation', 'maxPool2d', [T([1, 1, 7, 6])], {'kw': {'kernelSize': [2, 3], 'dilation': 2}})
    case('ceil', 'maxPool2d', [T([1, 2, 5, 6])], {'kw': {'kernelSize': 2, 'ceilMode': True}})
    case('ceil_pad', 'maxPool2d', [T([1, 1, 6, 6])], {'kw': {'kernelSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True}})
    case('indices', 'maxPool2d', [T([2, 2, 5, 5])], {'kw': {'kernelSize': 3, 'stride': 2, 'padding': 1, 'returnIndices': True}})
    case('unbatched', 'maxPool2d', [T([2, 4, 4])], {'kw': {'kernelSize': 2, 'stride': 1}})
    case('neg_inf', 'maxPool2d', [T([1, 1, 2, 2], data=[-INF, -INF, -INF, 1])], {'kw': {'kernelSize': 2, 'padding': 1}})
    # windows that tile the input (stride = kernel): fusor reads them as a view, no window table
    with own_stream('maxPool2d/tiles'):
        case('tiles_crop', 'maxPool2d', [T([2, 2, 5, 7])], {'kw': {'kernelSize': 2}})
        case('tiles_indices', 'maxPool2d', [T([1, 2, 4, 9])], {'kw': {'kernelSize': [2, 3], 'returnIndices': True}})
        case('tiles_ties', 'maxPool2d', [T([1, 1, 4, 4], data=[0, 0, 1, 1, 0, 0, 1, 1, 2, -1, 0, 0, 2, 2, 0, 0])], {'kw': {'kernelSize': 2, 'returnIndices': True}})
        case('tiles_crop', 'avgPool2d', [T([1, 2, 6, 5])], {'kw': {'kernelSize': 2}})
    case('strided_input', 'maxPool2d', [T([1, 2, 4, 8], view='step')], {'kw': {'kernelSize': 2}})
    case('basic', 'maxPool1d', [T([2, 3, 7])], {'kw': {'kernelSize': 3, 'stride': 2, 'padding': 1}})
    case('basic', 'avgPool2d', [T([2, 2, 4, 4])], {'kw': {'kernelSize': 2}})
    case('pad', 'avgPool2d', [T([1, 2, 5, 5])], {'kw': {'kernelSize': 3, 'stride': 2, 'padding': 1}})
    case('pad_exclude', 'avgPool2d', [T([1, 2, 5, 5])], {'kw': {'kernelSize': 3, 'stride': 2, 'padding': 1, 'countIncludePad': False}})
    case('ceil', 'avgPool2d', [T([1, 1, 5, 6])], {'kw': {'kernelSize': 2, 'ceilMode': True}})
    case('ceil_pad', 'avgPool2d', [T([1, 1, 6, 7])], {'kw': {'kernelSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True}})
    case('ceil_pad_exclude', 'avgPool2d', [T([1, 1, 6, 7])], {'kw': {'kernelSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True, 'countIncludePad': False}})
    case('divisor', 'avgPool2d', [T([1, 2, 4, 4])], {'kw': {'kernelSize': 3, 'stride': 1, 'padding': 1, 'divisorOverride': 2}})
    case('f64', 'avgPool2d', [T([1, 1, 4, 4], F64)], {'kw': {'kernelSize': [2, 3], 'stride': [2, 1]}})
    case('basic', 'avgPool1d', [T([2, 3, 7])], {'kw': {'kernelSize': 3, 'stride': 2, 'padding': 1}})
    case('divisible', 'adaptiveAvgPool2d', [T([2, 2, 4, 6])], {'size': [2, 3]})
    case('uneven', 'adaptiveAvgPool2d', [T([1, 2, 5, 7])], {'size': [3, 4]})
    case('global', 'adaptiveAvgPool2d', [T([2, 3, 3, 5])], {'size': 1})
    case('none', 'adaptiveAvgPool2d', [T([1, 1, 5, 4])], {'size': [2, None]})
    case('larger', 'adaptiveAvgPool2d', [T([1, 1, 2, 3])], {'size': [3, 4]})
    case('unbatched', 'adaptiveAvgPool2d', [T([2, 5, 5])], {'size': 3})
    # padding
    case('constant', 'pad', [T([2, 3])], {'sizes': [1, 2]})
    case('constant_value', 'pad', [T([2, 3, 2])], {'sizes': [1, 0, 2, 1], 'kw': {'value': 1.5}})
    case('constant_negative', 'pad', [T([3, 4])], {'sizes': [-1, 2, 1, -1]})
    case('constant_i64', 'pad', [T([2, 2], I64)], {'sizes': [1, 1, 1, 1], 'kw': {'value': 7}})
    case('reflect_1d', 'pad', [T([2, 5])], {'sizes': [2, 3], 'kw': {'mode': 'reflect'}})
    case('reflect_2d', 'pad', [T([1, 2, 3, 4])], {'sizes': [1, 2, 2, 1], 'kw': {'mode': 'reflect'}})
    case('replicate_2d', 'pad', [T([1, 2, 3, 3])], {'sizes': [2, 1, 1, 3], 'kw': {'mode': 'replicate'}})
    case('replicate_3d', 'pad', [T([1, 2, 2, 3])], {'sizes': [1, 1, 2, 0, 1, 1], 'kw': {'mode': 'replicate'}})
    case('circular_2d', 'pad', [T([1, 1, 3, 4])], {'sizes': [2, 1, 1, 3], 'kw': {'mode': 'circular'}})
    case('strided', 'pad', [T([1, 2, 3, 8], view='step')], {'sizes': [1, 1, 1, 1], 'kw': {'mode': 'reflect'}})
    # unfold
    case('basic', 'unfold', [T([2, 2, 4, 4])], {'kw': {'kernelSize': 2}})
    case('all_args', 'unfold', [T([1, 2, 5, 6])], {'kw': {'kernelSize': [2, 3], 'dilation': [2, 1], 'padding': 1, 'stride': [1, 2]}})
    case('unbatched', 'unfold', [T([2, 3, 3])], {'kw': {'kernelSize': 2}})
    case('basic', 'tensorUnfold', [T([3, 7])], {'dim': 1, 'size': 3, 'step': 2})
    case('overlap_neg_dim', 'tensorUnfold', [T([5, 2])], {'dim': -2, 'size': 3, 'step': 1})
    case('step_gt_size', 'tensorUnfold', [T([2, 9, 2])], {'dim': 1, 'size': 2, 'step': 3})
    # activations
    act = T([4, 5], data=[-20, -8.5, -4, -3, -2.5, -1.5, -1, -0.6, -0.1, -0.0, 0.0, 1e-4, 0.3, 0.7, 1.2, 2.5, 3.3, 5, 9, 25])
    act64 = T([4, 5], F64, data=act['data'])
    edge = T([2, 3], data=[NAN, INF, -INF, 0.0, 1.0, -1.0])
    for op, kws in [('erf', [None]), ('gelu', [None, {'approximate': 'tanh'}]), ('silu', [None]), ('mish', [None]),
                    ('softplus', [None, {'beta': 2, 'threshold': 5}]), ('logsigmoid', [None]),
                    ('leakyRelu', [None, {'negativeSlope': 0.2}]), ('elu', [None, {'alpha': 0.5}]),
                    ('hardtanh', [None, {'minVal': -2, 'maxVal': 0.7}]), ('relu6', [None])]:
        for kw in kws:
            suffix = '' if kw is None else '_' + '_'.join(f'{k}' for k in kw)
            args = {} if kw is None else {'kw': kw}
            case('f32' + suffix, op, [act], args)
            case('f64' + suffix, op, [act64], args)
            case('edge' + suffix, op, [edge], args, grad=op not in ('erf', 'gelu', 'mish', 'softplus', 'logsigmoid', 'silu', 'elu'))
            case('strided' + suffix, op, [T([3, 8], view='step')], args)
    case('bounds', 'hardtanh', [V([-1, 1, -1.5, 0.5, 2])])
    case('bounds', 'relu6', [V([0, 6, -1, 3, 7])])
    case('zero', 'leakyRelu', [V([0.0, -0.0, 1, -1])])
    case('zero', 'elu', [V([0.0, -0.0, 1, -1])])
    # matrix helpers and einsum
    case('basic', 'triu', [T([3, 4])])
    case('diag1', 'triu', [T([4, 3])], {'diagonal': 1})
    case('batched_neg', 'triu', [T([2, 3, 3])], {'diagonal': -1})
    case('basic', 'tril', [T([3, 4])])
    case('diag2_i64', 'tril', [T([3, 4], I64)], {'diagonal': 2})
    case('transposed', 'tril', [T([4, 3], view='T')], {'diagonal': -1})
    case('vector', 'diag', [T([3])])
    case('vector_pos', 'diag', [T([3])], {'diagonal': 2})
    case('vector_neg', 'diag', [T([2])], {'diagonal': -1})
    case('matrix', 'diag', [T([3, 4])])
    case('matrix_pos', 'diag', [T([3, 4])], {'diagonal': 1})
    case('matrix_neg', 'diag', [T([4, 3])], {'diagonal': -2})
    case('matrix_transposed', 'diag', [T([4, 3], view='T')])
    case('basic', 'outer', [T([3]), T([4])])
    case('basic', 'addmm', [T([2, 4]), T([2, 3]), T([3, 4])])
    case('scaled_broadcast', 'addmm', [T([4]), T([2, 3]), T([3, 4])], {'kw': {'beta': 0.5, 'alpha': 2}})
    case('basic', 'addmv', [T([2]), T([2, 3]), T([3])], {'kw': {'alpha': -1}})
    case('basic', 'baddbmm', [T([2, 2, 4]), T([2, 2, 3]), T([2, 3, 4])], {'kw': {'beta': 2}})
    case('matmul', 'einsum', [T([2, 3]), T([3, 4])], {'equation': 'ij,jk->ik'})
    case('implicit', 'einsum', [T([2, 3]), T([3, 4])], {'equation': 'ij,jk'})
    case('batched', 'einsum', [T([2, 3, 4]), T([2, 4, 5])], {'equation': 'bij,bjk->bik'})
    case('transpose', 'einsum', [T([2, 3])], {'equation': 'ij->ji'})
    case('sum', 'einsum', [T([2, 3])], {'equation': 'ij->'})
    case('outer', 'einsum', [T([3]), T([2])], {'equation': 'i,j->ij'})
    case('three', 'einsum', [T([2, 3]), T([3, 4]), T([4, 2])], {'equation': 'ij,jk,kl->il'})
    case('attention', 'einsum', [T([2, 3, 4]), T([2, 5, 4])], {'equation': 'bqd,bkd->bqk'})
    case('strided', 'einsum', [T([3, 4], view='T'), T([2, 8], view='step')], {'equation': 'ji,kj->ik'})
    # errors
    case('channels', 'conv2d', [T([2, 4, 5, 5]), T([8, 3, 3, 3])], error='Given groups=1, weight of size [8, 3, 3, 3], expected input[2, 4, 5, 5] to have 3 channels, but got 4 channels instead')
    case('input_dims', 'conv2d', [T([2, 3]), T([8, 3, 3, 3])], error='Expected 3D (unbatched) or 4D (batched) input to conv2d')
    case('kernel_too_large', 'conv2d', [T([2, 3, 2, 2]), T([8, 3, 3, 3])], error="Kernel size can't be greater than actual input size")
    case('groups_weight', 'conv2d', [T([2, 4, 5, 5]), T([3, 2, 3, 3])], {'kw': {'groups': 2}}, error='expected weight to be divisible by 2')
    case('bias', 'conv2d', [T([2, 3, 5, 5]), T([8, 3, 3, 3]), T([4])], error='expected bias to be 1-dimensional with 8 elements')
    case('same_strided', 'conv2d', [T([2, 3, 5, 5]), T([8, 3, 3, 3])], {'kw': {'stride': 2, 'padding': 'same'}}, error="padding='same' is not supported for strided convolutions")
    case('padding_string', 'conv2d', [T([2, 3, 5, 5]), T([8, 3, 3, 3])], {'kw': {'padding': 'foo'}}, error='Invalid padding string')
    case('negative_padding', 'conv2d', [T([2, 3, 5, 5]), T([8, 3, 3, 3])], {'kw': {'padding': -1}}, error='negative padding is not supported')
    case('stride_zero', 'conv2d', [T([2, 3, 5, 5]), T([8, 3, 3, 3])], {'kw': {'stride': 0}}, error='non-positive stride is not supported')
    case('dtype', 'conv2d', [T([2, 3, 5, 5]), T([8, 3, 3, 3], F64)], error='Input type (torch.FloatTensor) and weight type (torch.DoubleTensor) should be the same')
    case('channels', 'conv1d', [T([2, 4, 5]), T([8, 3, 3])], error='Given groups=1, weight of size [8, 3, 3], expected input[2, 4, 5] to have 3 channels')
    case('channels', 'convTranspose2d', [T([2, 4, 5, 5]), T([3, 2, 3, 3])], error='Given transposed=1, weight of size [3, 2, 3, 3]')
    case('output_padding', 'convTranspose2d', [T([2, 3, 5, 5]), T([3, 2, 3, 3])], {'kw': {'stride': 2, 'outputPadding': 2}}, error='output padding must be smaller than either stride or dilation')
    case('half_kernel', 'maxPool2d', [T([1, 1, 5, 5])], {'kw': {'kernelSize': 3, 'padding': 2}}, error='pad should be at most half of kernel size')
    case('too_small', 'maxPool2d', [T([1, 1, 2, 2])], {'kw': {'kernelSize': 3}}, error='Output size is too small')
    case('dims', 'maxPool2d', [T([5, 5])], {'kw': {'kernelSize': 3}}, error='non-empty 3D or 4D (batch mode) tensor expected for input')
    case('stride_zero', 'maxPool2d', [T([1, 1, 5, 5])], {'kw': {'kernelSize': 2, 'stride': 0}}, error='stride should not be zero')
    case('half_kernel', 'avgPool2d', [T([1, 1, 5, 5])], {'kw': {'kernelSize': 3, 'padding': 2}}, error='pad should be at most half of kernel size')
    case('too_small', 'avgPool2d', [T([1, 1, 2, 2])], {'kw': {'kernelSize': 3}}, error='Output size is too small')
    case('reflect_too_large', 'pad', [T([1, 3, 3])], {'sizes': [3, 3], 'kw': {'mode': 'reflect'}}, error='Padding size should be less than the corresponding input dimension')
    case('reflect_too_large_2d', 'pad', [T([1, 1, 3, 4])], {'sizes': [1, 1, 3, 1], 'kw': {'mode': 'reflect'}}, error='Padding size should be less than the corresponding input dimension')
    case('odd', 'pad', [T([1, 1, 3, 3])], {'sizes': [1]}, error='Padding length must be divisible by 2')
    case('too_long', 'pad', [T([1, 3])], {'sizes': [1, 1, 1, 1, 1, 1]}, error='Padding length too large')
    case('dims', 'pad', [T([1, 1, 3, 3])], {'sizes': [1, 1], 'kw': {'mode': 'reflect'}}, error='Only 2D, 3D, 4D, 5D padding with non-constant padding are supported for now')
    case('mode', 'pad', [T([1, 1, 3, 3])], {'sizes': [1, 1], 'kw': {'mode': 'foo'}}, error='Unrecognised padding mode foo')
    case('circular_wrap', 'pad', [T([1, 1, 3, 3])], {'sizes': [4, 4, 1, 1], 'kw': {'mode': 'circular'}}, error='Padding value causes wrapping around more than once.')
    case('blocks', 'unfold', [T([1, 1, 3, 3])], {'kw': {'kernelSize': 4}}, error='calculated shape of the array of sliding blocks as (0, 0)')
    case('size', 'tensorUnfold', [T([3, 4])], {'dim': 1, 'size': 5, 'step': 1}, error='maximum size for tensor at dimension 1 is 4 but size is 5')
    case('step', 'tensorUnfold', [T([3, 4])], {'dim': 1, 'size': 2, 'step': 0}, error='step is 0 but must be > 0')
    case('approximate', 'gelu', [T([3])], {'kw': {'approximate': 'foo'}}, error='approximate argument must be either none or tanh.')


def main():
    creation()
    elementwise()
    reductions()
    shapes()
    linalg()
    errors()
    nn()
    indexing()
    later()
    os.makedirs(OUT_DIR, exist_ok=True)
    total = 0
    for name, cases in CASES.items():
        path = os.path.join(OUT_DIR, f'{name}.json')
        with open(path, 'w') as f:
            f.write('{"torch": "%s", "cases": [\n' % torch.__version__.split('+')[0])
            f.write(',\n'.join(json.dumps(c, separators=(',', ':')) for c in cases))
            f.write('\n]}\n')
        total += len(cases)
        print(f'{name}: {len(cases)} cases, {os.path.getsize(path) // 1024} KiB', file=sys.stderr)
    print(f'total: {total} cases', file=sys.stderr)


if __name__ == '__main__':
    main()
