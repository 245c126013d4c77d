#!/usr/bin/env python3
"""Golden values for @fusor/nn's optim / data / safetensors tests, from PyTorch 1.13.

Run from the repository root:  /usr/bin/python3 packages/nn/scripts/gen_golden_train.py
Writes packages/nn/fixtures/train-*.json and train-*.safetensors. Every number in them comes
from torch (or from the safetensors reference writer below, written from the format's spec
because torch 1.13 here has no safetensors package).
"""
import gzip
import json
import math
import os
import struct
import sys

import torch

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, '..', 'fixtures')


def f32(t):
    return [float(v) for v in t.detach().to(torch.float64).reshape(-1).tolist()]


def write(name, obj):
    with open(os.path.join(FIX, name), 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.write('\n')


# ----------------------------------------------------------------------------- optimizers
SHAPES = [[3, 4], [5]]
STEPS = 5


def opt_case(name, cls, kwargs, groups=None, missing=None):
    """`groups`: list of per-group option dicts, params split one per group; `missing`: (step, param) with no grad."""
    g = torch.Generator().manual_seed(len(name) * 7919 + sum(map(ord, name)))
    init = [torch.randn(s, generator=g) for s in SHAPES]
    grads = [[torch.randn(s, generator=g) for s in SHAPES] for _ in range(STEPS)]
    params = [p.clone().requires_grad_() for p in init]
    if groups is None:
        opt = cls(params, **kwargs)
    else:
        opt = cls([dict(params=[p], **go) for p, go in zip(params, groups)], **kwargs)
    traj = []
    for k in range(STEPS):
        for i, p in enumerate(params):
            p.grad = None if missing == [k, i] else grads[k][i].clone()
        opt.step()
        traj.append([f32(p) for p in params])
    sd = opt.state_dict()
    state = {str(k): {n: (f32(v) if isinstance(v, torch.Tensor) else v) for n, v in st.items()} for k, st in sd['state'].items()}
    pgroups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in pg.items()} for pg in sd['param_groups']]
    return dict(name=name, optimizer=cls.__name__, options=kwargs, groups=groups, missing=missing, shapes=SHAPES,
                init=[f32(p) for p in init], grads=[[f32(t) for t in gs] for gs in grads], trajectory=traj,
                state=state, param_groups=pgroups)


O = torch.optim


def gen_optim():
    cases = [
        opt_case('sgd', O.SGD, dict(lr=0.1)),
        opt_case('sgd_momentum', O.SGD, dict(lr=0.1, momentum=0.9)),
        opt_case('sgd_dampening_wd', O.SGD, dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
        opt_case('sgd_nesterov_maximize', O.SGD, dict(lr=0.05, momentum=0.8, nesterov=True, maximize=True)),
        opt_case('sgd_groups', O.SGD, dict(lr=0.1, momentum=0.9), groups=[dict(), dict(lr=0.01, momentum=0.5)]),
        opt_case('adam', O.Adam, dict(lr=0.01)),
        opt_case('adam_wd_amsgrad', O.Adam, dict(lr=0.02, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
        opt_case('adam_maximize_eps', O.Adam, dict(lr=0.01, eps=1e-3, maximize=True)),
        opt_case('adam_missing_grad', O.Adam, dict(lr=0.01), missing=[2, 1]),
        opt_case('adam_groups', O.Adam, dict(lr=0.01), groups=[dict(lr=0.1), dict(betas=(0.5, 0.6))]),
        opt_case('adamw', O.AdamW, dict(lr=0.01)),
        opt_case('adamw_amsgrad', O.AdamW, dict(lr=0.01, weight_decay=0.1, amsgrad=True, eps=1e-6)),
        opt_case('rmsprop', O.RMSprop, dict(lr=0.01)),
        opt_case('rmsprop_centered_momentum_wd', O.RMSprop, dict(lr=0.01, alpha=0.9, momentum=0.9, centered=True, weight_decay=0.01)),
        opt_case('rmsprop_maximize', O.RMSprop, dict(lr=0.01, maximize=True, eps=1e-4)),
        opt_case('adagrad', O.Adagrad, dict(lr=0.1)),
        opt_case('adagrad_decay_wd_init', O.Adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1, eps=1e-8)),
    ]
    clip = []
    for max_norm, norm_type in [(1.0, 2.0), (100.0, 2.0), (0.5, 1.0), (0.3, float('inf')), (2.0, 3.0)]:
        g = torch.Generator().manual_seed(11)
        ps = [torch.zeros(s, requires_grad=True) for s in SHAPES]
        for p in ps:
            p.grad = torch.randn(p.shape, generator=g)
        grads = [f32(p.grad) for p in ps]
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type)
        clip.append(dict(max_norm=max_norm, norm_type='inf' if norm_type == float('inf') else norm_type, grads=grads,
                         total_norm=float(total), clipped=[f32(p.grad) for p in ps]))
    g = torch.Generator().manual_seed(12)
    ps = [torch.zeros(s, requires_grad=True) for s in SHAPES]
    for p in ps:
        p.grad = torch.randn(p.shape, generator=g)
    grads = [f32(p.grad) for p in ps]
    torch.nn.utils.clip_grad_value_(ps, 0.5)
    clip_value = dict(clip_value=0.5, grads=grads, clipped=[f32(p.grad) for p in ps])
    write('train-optim.json', dict(torch=torch.__version__, cases=cases, clip_norm=clip, clip_value=clip_value))


# ----------------------------------------------------------------------------- schedulers
S = O.lr_scheduler


def sched_case(name, make_opt, make_sched, steps, metrics=None):
    opt = make_opt([torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)])
    scheds = make_sched(opt)
    if not isinstance(scheds, list):
        scheds = [scheds]
    lrs = [[g['lr'] for g in opt.param_groups]]
    moms = [[mom_of(g) for g in opt.param_groups]]
    for k in range(steps):
        opt.step()
        for s in scheds:
            if isinstance(s, S.ReduceLROnPlateau):
                s.step(metrics[k])
            else:
                s.step()
        lrs.append([g['lr'] for g in opt.param_groups])
        moms.append([mom_of(g) for g in opt.param_groups])
    last = scheds[-1].get_last_lr() if hasattr(scheds[-1], 'get_last_lr') else scheds[-1]._last_lr
    return dict(name=name, steps=steps, metrics=metrics, lrs=lrs, momentum=moms, last_lr=last)


def mom_of(g):
    if 'betas' in g:
        return g['betas'][0]
    return g.get('momentum')


def two_groups(cls, **kw):
    return lambda ps: cls([dict(params=[ps[0]]), dict(params=[ps[1]], lr=kw.pop('lr2', 0.05))], **kw)


def gen_sched():
    sgd = lambda ps: O.SGD(ps, lr=0.1, momentum=0.9)
    cases = [
        sched_case('step', sgd, lambda o: S.StepLR(o, step_size=3, gamma=0.5), 10),
        sched_case('multistep', sgd, lambda o: S.MultiStepLR(o, milestones=[2, 5, 5, 8], gamma=0.1), 10),
        sched_case('exponential', two_groups(O.SGD, lr=0.1), lambda o: S.ExponentialLR(o, gamma=0.9), 8),
        sched_case('cosine', sgd, lambda o: S.CosineAnnealingLR(o, T_max=5, eta_min=0.001), 16),
        sched_case('linear', sgd, lambda o: S.LinearLR(o, start_factor=0.25, total_iters=4), 7),
        sched_case('linear_default', sgd, lambda o: S.LinearLR(o), 7),
        sched_case('onecycle', sgd, lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=20), 19),
        sched_case('onecycle_adam_linear_three_phase', two_groups(O.Adam, lr=0.01),
                   lambda o: S.OneCycleLR(o, max_lr=[0.1, 0.05], total_steps=12, anneal_strategy='linear', three_phase=True), 11),
        sched_case('chained_step_exponential', sgd, lambda o: [S.StepLR(o, step_size=2, gamma=0.5), S.ExponentialLR(o, gamma=0.9)], 6),
        sched_case('plateau_min', sgd, lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=2, cooldown=1, min_lr=0.01), 14,
                   metrics=[1.0, 0.9, 0.95, 0.91, 0.92, 0.93, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]),
        sched_case('plateau_max_abs', sgd, lambda o: S.ReduceLROnPlateau(o, mode='max', threshold_mode='abs', threshold=0.1, patience=1), 8,
                   metrics=[0.1, 0.15, 0.3, 0.35, 0.38, 0.5, 0.55, 0.56]),
    ]
    write('train-schedulers.json', dict(torch=torch.__version__, cases=cases))


# ----------------------------------------------------------------------------- data
def gen_data():
    perms = []
    for n, seed in [(10, 0), (10, 42), (1000, 7), (1, 3), (37, 123456789)]:
        g = torch.Generator().manual_seed(seed)
        perms.append(dict(n=n, seed=seed, first=torch.randperm(n, generator=g).tolist(), second=torch.randperm(n, generator=g).tolist()))
    splits = []
    for n, lengths, seed in [(10, [3, 7], 42), (30, [0.3, 0.3, 0.4], 42), (11, [0.5, 0.5], 1)]:
        parts = torch.utils.data.random_split(range(n), lengths, generator=torch.Generator().manual_seed(seed))
        splits.append(dict(n=n, lengths=lengths, seed=seed, indices=[list(p.indices) for p in parts]))
    loaders = []
    for n, bs, drop, seed in [(10, 3, False, 5), (10, 3, True, 5), (7, 7, False, 0)]:
        ds = torch.utils.data.TensorDataset(torch.arange(n), torch.arange(n) * 10)
        dl = torch.utils.data.DataLoader(ds, batch_size=bs, shuffle=True, drop_last=drop, generator=torch.Generator().manual_seed(seed))
        epochs = [[[x.tolist(), y.tolist()] for x, y in dl] for _ in range(2)]
        loaders.append(dict(n=n, batch_size=bs, drop_last=drop, seed=seed, len=len(dl), epochs=epochs))
    write('train-data.json', dict(torch=torch.__version__, randperm=perms, random_split=splits, loaders=loaders))


# ----------------------------------------------------------------------------- safetensors
# The reference writer/reader, from the format: 8-byte little-endian header length, a compact
# JSON header ({"__metadata__": {...}, name: {dtype, shape, data_offsets}}), padded with spaces
# to a multiple of 8, then the tensors' bytes in header order: descending dtype (the Rust enum
# order below), then by name.
ST_ORDER = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64']
ST_DTYPE = {torch.bool: 'BOOL', torch.uint8: 'U8', torch.int8: 'I8', torch.int16: 'I16', torch.float16: 'F16', torch.bfloat16: 'BF16',
            torch.int32: 'I32', torch.float32: 'F32', torch.float64: 'F64', torch.int64: 'I64'}
ST_TORCH = {v: k for k, v in ST_DTYPE.items()}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def st_save(tensors, metadata=None):
    items = sorted(tensors.items(), key=lambda kv: kv[0].encode())
    items = sorted(items, key=lambda kv: -ST_ORDER.index(ST_DTYPE[kv[1].dtype]))
    header = {}
    if metadata is not None:
        header['__metadata__'] = metadata
    offset = 0
    blobs = []
    for name, t in items:
        b = tensor_bytes(t)
        header[name] = {'dtype': ST_DTYPE[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(',', ':'), ensure_ascii=False).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    return struct.pack('<Q', len(h)) + h + b''.join(blobs)


def st_load(data):
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        s, e = info['data_offsets']
        dt = ST_TORCH[info['dtype']]
        raw = bytearray(body[s:e])
        if dt == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if raw else torch.empty(0, dtype=dt)
        else:
            t = torch.frombuffer(raw, dtype=dt) if raw else torch.empty(0, dtype=dt)
        out[name] = t.reshape(info['shape'])
    return out


def st_values(t):
    if t.dtype == torch.bool:
        return [bool(v) for v in t.reshape(-1).tolist()]
    if t.dtype.is_floating_point:
        return [float(v) for v in t.to(torch.float64).reshape(-1).tolist()]
    return [int(v) for v in t.reshape(-1).tolist()]


def gen_safetensors():
    g = torch.Generator().manual_seed(2024)
    tensors = {
        'layers.0.weight': torch.randn(4, 3, generator=g),
        'layers.0.bias': torch.randn(4, generator=g),
        'emb': torch.randn(2, 3, generator=g).to(torch.float16),
        'emb_bf16': torch.randn(3, 2, generator=g).to(torch.bfloat16),
        'double': torch.randn(2, 2, generator=g).to(torch.float64),
        'steps': torch.tensor([1, -2, 3 * 2**40], dtype=torch.int64),
        'i32': torch.tensor([[7, -8]], dtype=torch.int32),
        'i16': torch.tensor([-300, 300], dtype=torch.int16),
        'i8': torch.tensor([-5, 5, 127], dtype=torch.int8),
        'u8': torch.tensor([0, 255, 17], dtype=torch.uint8),
        'mask': torch.tensor([True, False, True, True, False]),
        'scalar': torch.tensor(2.5),
        'empty': torch.zeros(0, 3),
    }
    metadata = {'format': 'pt', 'note': 'written by gen_golden_train.py'}
    data = st_save(tensors, metadata)
    with open(os.path.join(FIX, 'train-safetensors.safetensors'), 'wb') as f:
        f.write(data)
    back = st_load(data)
    assert all(torch.equal(back[k], v) for k, v in tensors.items())
    order = [k for k in json.loads(data[8:8 + struct.unpack('<Q', data[:8])[0]]) if k != '__metadata__']
    # the cpu backend holds no 16-bit floats: a second file without them, for byte-exact writing there
    cpu_tensors = {k: v for k, v in tensors.items() if v.dtype not in (torch.float16, torch.bfloat16)}
    with open(os.path.join(FIX, 'train-safetensors-cpu.safetensors'), 'wb') as f:
        f.write(st_save(cpu_tensors, metadata))
    small = st_save({'b': torch.tensor([1.0, 2.0]), 'a': torch.tensor([3], dtype=torch.int64)})
    write('train-safetensors.json', dict(
        metadata=metadata, order=order,
        tensors={k: dict(dtype=ST_DTYPE[v.dtype], shape=list(v.shape), values=st_values(v)) for k, v in tensors.items()},
        small_hex=small.hex(),
    ))


# ----------------------------------------------------------------------------- parity
FMNIST = '/usr/share/datasets/fashion-mnist'


def idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


def gen_mnist():
    if not os.path.exists(os.path.join(FMNIST, 'train-images-idx3-ubyte.gz')):
        print('skipping mnist fixture: apt-get install dataset-fashion-mnist', file=sys.stderr)
        return
    out = {}
    for split, prefix in [('train', 'train'), ('test', 't10k')]:
        x = idx(os.path.join(FMNIST, f'{prefix}-images-idx3-ubyte.gz'))
        y = idx(os.path.join(FMNIST, f'{prefix}-labels-idx1-ubyte.gz'))
        out[split] = dict(shape=list(x.shape), labels_head=y[:20].tolist(), label_counts=torch.bincount(y.long(), minlength=10).tolist(),
                          image0_sum=int(x[0].long().sum()), image_last_sum=int(x[-1].long().sum()), image0_row14=x[0, 14].tolist())
    write('train-mnist.json', out)


def parity_model():
    """The parity test's small CNN: Conv2d(1, 4, 3) → ReLU → MaxPool2d(2) → Flatten → Linear(676, 10)."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(4 * 13 * 13, 10))


def gen_parity():
    """50 Adam steps on the first 50×16 training images (in order, /255), from weights saved as safetensors."""
    if not os.path.exists(os.path.join(FMNIST, 'train-images-idx3-ubyte.gz')):
        print('skipping parity fixture: apt-get install dataset-fashion-mnist', file=sys.stderr)
        return
    steps, batch = 50, 16
    x = idx(os.path.join(FMNIST, 'train-images-idx3-ubyte.gz'))[:steps * batch].to(torch.float32).div(255).unsqueeze(1)
    y = idx(os.path.join(FMNIST, 'train-labels-idx1-ubyte.gz'))[:steps * batch].to(torch.int64)
    model = parity_model()
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    with open(os.path.join(FIX, 'train-parity-init.safetensors'), 'wb') as f:
        f.write(st_save(init, {'format': 'pt'}))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for k in range(steps):
        xb, yb = x[k * batch:(k + 1) * batch], y[k * batch:(k + 1) * batch]
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    final = {k: f32(v)[:16] for k, v in model.state_dict().items()}
    write('train-parity.json', dict(torch=torch.__version__, model=str(model), steps=steps, batch=batch, lr=1e-3, losses=losses, final_head=final))


if __name__ == '__main__':
    os.makedirs(FIX, exist_ok=True)
    gen_optim()
    gen_sched()
    gen_data()
    gen_safetensors()
    gen_mnist()
    gen_parity()
