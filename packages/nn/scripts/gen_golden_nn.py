#!/usr/bin/env python3
"""Golden values for fusor's nn: modules and losses, from PyTorch 1.13 (/usr/bin/python3).

Writes packages/nn/fixtures/nn-modules.json and nn-losses.json. Each module case carries the
module's state dict (made here, loaded in fusor with loadStateDict), its inputs, the output, and
the gradients of the inputs and parameters of sum(output * gradOut); buffers after forward where
a forward updates them (batch norm). Functions PyTorch 1.13 lacks (RMSNorm, scaled dot-product
attention) are reference implementations by formula, marked "formula".

Run: /usr/bin/python3 packages/nn/scripts/gen_golden_nn.py
"""
import json
import zlib
import math
import os
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'fixtures')

DT = {torch.float32: 'float32', torch.float64: 'float64', torch.int64: 'int64', torch.bool: 'bool'}


def enc(t):
    if t is None:
        return None
    t = t.detach()
    vals = t.reshape(-1).tolist()
    if t.dtype == torch.float32:
        vals = [float('%.9g' % v) for v in vals]
    if t.is_floating_point():
        vals = [v if math.isfinite(v) else ('nan' if math.isnan(v) else ('inf' if v > 0 else '-inf')) for v in vals]
    return {'shape': list(t.shape), 'dtype': DT[t.dtype], 'data': vals}


def first(out):
    """The tensors a case compares: the output, or the leading outputs of a tuple."""
    if isinstance(out, torch.Tensor):
        return [out]
    res = []
    for o in out:
        if isinstance(o, torch.Tensor):
            res.append(o)
        elif isinstance(o, tuple):
            res.extend(x for x in o if isinstance(x, torch.Tensor))
    return res


def module_case(name, make, inputs, train=True, repr_=True, note=None, call=None):
    torch.manual_seed(zlib.crc32(name.encode()) % 1000)
    m = make()
    m.train(train)
    state = {k: enc(v) for k, v in m.state_dict().items()}
    xs = [x.clone().requires_grad_(x.is_floating_point()) for x in inputs]
    outs = first(call(m, *xs) if call else m(*xs))
    gouts = [torch.randn(o.shape) for o in outs]
    total = sum((o * g).sum() for o, g in zip(outs, gouts))
    total.backward()
    case = {
        'name': name,
        'train': train,
        'state': state,
        'inputs': [enc(x) for x in inputs],
        'outputs': [enc(o) for o in outs],
        'gradOutputs': [enc(g) for g in gouts],
        'gradInputs': [enc(x.grad) if x.grad is not None else None for x in xs],
        'gradParams': {k: enc(p.grad) for k, p in m.named_parameters() if p.grad is not None},
        'buffersAfter': {k: enc(b) for k, b in m.named_buffers()},
    }
    if repr_:
        case['repr'] = repr(m)
    if note:
        case['note'] = note
    return case


def fn_case(name, fn, inputs, note=None, grad=None):
    """A function of tensors; gradients of its floating inputs (those listed in grad) by sum(out * gradOut)."""
    xs = [x.clone().requires_grad_(x.is_floating_point() and (grad is None or i in grad)) if isinstance(x, torch.Tensor) else x
          for i, x in enumerate(inputs)]
    out = fn(*xs)
    g = torch.randn(out.shape)
    (out * g).sum().backward()
    case = {
        'name': name,
        'inputs': [enc(x) for x in inputs],
        'output': enc(out),
        'gradOutput': enc(g),
        'gradInputs': [enc(x.grad) if isinstance(x, torch.Tensor) and x.grad is not None else None for x in xs],
    }
    if note:
        case['note'] = note
    return case


class RMSNormRef(nn.Module):
    """torch.nn.RMSNorm (2.4) by formula: x * rsqrt(mean(x^2) + eps) * weight."""

    def __init__(self, shape, eps=None):
        super().__init__()
        self.shape = (shape,) if isinstance(shape, int) else tuple(shape)
        self.eps = eps
        self.weight = nn.Parameter(torch.rand(self.shape) + 0.5)

    def forward(self, x):
        dims = tuple(range(-len(self.shape), 0))
        eps = torch.finfo(x.dtype).eps if self.eps is None else self.eps
        return x * torch.rsqrt(x.pow(2).mean(dims, keepdim=True) + eps) * self.weight


def sdpa_ref(q, k, v, attn_mask=None, is_causal=False, scale=None):
    """PyTorch 2's documented reference implementation of scaled_dot_product_attention."""
    L, S = q.size(-2), k.size(-2)
    s = 1 / math.sqrt(q.size(-1)) if scale is None else scale
    bias = torch.zeros(L, S)
    if is_causal:
        bias = bias.masked_fill(torch.ones(L, S, dtype=torch.bool).tril().logical_not(), float('-inf'))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            bias = bias.masked_fill(attn_mask.logical_not(), float('-inf'))
        else:
            bias = bias + attn_mask
    w = torch.softmax(q @ k.transpose(-2, -1) * s + bias, dim=-1)
    return w @ v


def randomize(m, scale=0.5):
    """Non-trivial values for parameters PyTorch initializes to constants (norm weights, biases)."""
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn(p.shape) * scale)
    return m


def modules():
    torch.manual_seed(0)
    r = torch.randn
    cases = []
    cases.append(module_case('Linear', lambda: nn.Linear(5, 3), [r(4, 5)]))
    cases.append(module_case('Linear3d', lambda: nn.Linear(5, 3), [r(2, 4, 5)]))
    cases.append(module_case('LinearNoBias', lambda: nn.Linear(5, 3, bias=False), [r(4, 5)]))
    cases.append(module_case('Bilinear', lambda: nn.Bilinear(3, 4, 2), [r(5, 3), r(5, 4)]))
    cases.append(module_case('Identity', lambda: nn.Identity(), [r(2, 3)]))
    cases.append(module_case('Flatten', lambda: nn.Flatten(), [r(2, 3, 2, 2)]))
    cases.append(module_case('Unflatten', lambda: nn.Unflatten(1, (2, 3)), [r(2, 6)]))
    acts = {
        'ReLU': nn.ReLU(), 'ReLU6': nn.ReLU6(), 'GELU': nn.GELU(), 'GELUTanh': nn.GELU('tanh'), 'SiLU': nn.SiLU(),
        'Tanh': nn.Tanh(), 'Sigmoid': nn.Sigmoid(), 'Softmax': nn.Softmax(dim=1), 'LogSoftmax': nn.LogSoftmax(dim=1),
        'LeakyReLU': nn.LeakyReLU(0.2), 'ELU': nn.ELU(0.7), 'Softplus': nn.Softplus(beta=2, threshold=3),
        'Hardtanh': nn.Hardtanh(-0.5, 0.5), 'Mish': nn.Mish(), 'Hardswish': nn.Hardswish(), 'Hardsigmoid': nn.Hardsigmoid(),
        'SELU': nn.SELU(), 'CELU': nn.CELU(0.5), 'LogSigmoid': nn.LogSigmoid(), 'Softsign': nn.Softsign(),
        'Tanhshrink': nn.Tanhshrink(), 'GLU': nn.GLU(), 'Softmin': nn.Softmin(dim=1), 'PReLU': nn.PReLU(3),
    }
    for k, mod in acts.items():
        # values away from the kinks (0, ±0.5, ±3) so gradients are defined
        x = r(4, 6) * 2
        x = torch.where((x.abs() < 0.02) | ((x.abs() - 0.5).abs() < 0.02) | ((x.abs() - 3).abs() < 0.02), x + 0.1, x)
        if k == 'PReLU':
            x = x.reshape(2, 3, 4)
        cases.append(module_case(k, lambda mod=mod: mod, [x]))
    cases.append(module_case('BatchNorm1d', lambda: randomize(nn.BatchNorm1d(3)), [r(6, 3) * 2 + 1]))
    cases.append(module_case('BatchNorm1d3d', lambda: randomize(nn.BatchNorm1d(3, momentum=0.3)), [r(4, 3, 5)]))
    cases.append(module_case('BatchNorm2d', lambda: randomize(nn.BatchNorm2d(2)), [r(3, 2, 4, 4) * 3 - 1]))
    cases.append(module_case('BatchNorm2dCumulative', lambda: randomize(nn.BatchNorm2d(2, momentum=None)), [r(3, 2, 2, 2)]))

    def bn_eval():
        m = randomize(nn.BatchNorm2d(2))
        m.running_mean.copy_(torch.randn(2))
        m.running_var.copy_(torch.rand(2) + 0.5)
        return m
    cases.append(module_case('BatchNorm2dEval', bn_eval, [r(3, 2, 4, 4)], train=False))
    cases.append(module_case('BatchNorm1dNoStats', lambda: randomize(nn.BatchNorm1d(3, track_running_stats=False)), [r(5, 3)]))
    cases.append(module_case('LayerNorm', lambda: randomize(nn.LayerNorm(6)), [r(4, 6) * 2]))
    cases.append(module_case('LayerNorm2d', lambda: randomize(nn.LayerNorm([3, 4], eps=1e-3)), [r(2, 3, 4)]))
    cases.append(module_case('GroupNorm', lambda: randomize(nn.GroupNorm(2, 4)), [r(3, 4, 5)]))
    cases.append(module_case('RMSNorm', lambda: RMSNormRef(6), [r(4, 6)], repr_=False, note='formula'))
    cases.append(module_case('RMSNormEps', lambda: RMSNormRef([2, 3], eps=1e-3), [r(2, 2, 3)], repr_=False, note='formula'))
    cases.append(module_case('Embedding', lambda: nn.Embedding(7, 3), [torch.tensor([[1, 2, 6], [0, 2, 2]])]))
    cases.append(module_case('EmbeddingPadding', lambda: nn.Embedding(7, 3, padding_idx=2), [torch.tensor([[1, 2, 6], [2, 2, 5]])]))
    cases.append(module_case('MLP', lambda: nn.Sequential(nn.Flatten(), nn.Linear(8, 6), nn.ReLU(), nn.Dropout(0.0), nn.Linear(6, 3)), [r(4, 2, 4)]))
    cases.append(module_case('Dropout eval', lambda: nn.Dropout(0.5), [r(3, 4)], train=False))
    # convolution and pooling
    cases.append(module_case('Conv1d', lambda: nn.Conv1d(2, 3, 3, stride=2, padding=1), [r(2, 2, 7)]))
    cases.append(module_case('Conv2d', lambda: nn.Conv2d(2, 4, 3), [r(2, 2, 5, 5)]))
    cases.append(module_case('Conv2dGroups', lambda: nn.Conv2d(4, 4, 3, padding=1, groups=2, bias=False), [r(1, 4, 4, 4)]))
    cases.append(module_case('Conv2dReflect', lambda: nn.Conv2d(2, 2, 3, padding=1, padding_mode='reflect'), [r(1, 2, 4, 5)]))
    cases.append(module_case('Conv2dSame', lambda: nn.Conv2d(2, 3, (2, 3), padding='same', dilation=2), [r(1, 2, 5, 6)]))
    cases.append(module_case('Conv3d', lambda: nn.Conv3d(1, 2, 2), [r(1, 1, 3, 3, 3)]))
    cases.append(module_case('ConvTranspose1d', lambda: nn.ConvTranspose1d(2, 2, 3, stride=2), [r(1, 2, 4)]))
    cases.append(module_case('ConvTranspose2d', lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1), [r(1, 2, 3, 3)]))
    cases.append(module_case('MaxPool1d', lambda: nn.MaxPool1d(2), [r(2, 3, 6)]))
    cases.append(module_case('MaxPool2d', lambda: nn.MaxPool2d(2), [r(2, 3, 4, 4)]))
    cases.append(module_case('MaxPool2dPad', lambda: nn.MaxPool2d(3, stride=2, padding=1), [r(1, 2, 5, 5)]))
    cases.append(module_case('AvgPool2d', lambda: nn.AvgPool2d(2), [r(2, 3, 4, 4)]))
    cases.append(module_case('AvgPool2dPad', lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), [r(1, 2, 5, 5)]))
    cases.append(module_case('AdaptiveAvgPool2d', lambda: nn.AdaptiveAvgPool2d((2, 3)), [r(1, 2, 5, 7)]))
    cases.append(module_case('AdaptiveAvgPool2d1', lambda: nn.AdaptiveAvgPool2d(1), [r(2, 3, 4, 4)]))
    cases.append(module_case('CNN', lambda: nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3)), [r(2, 1, 8, 8)]))
    # attention, transformer, recurrent
    q3, kv3 = r(3, 2, 4), r(5, 2, 4)
    cases.append(module_case('MHA', lambda: randomize(nn.MultiheadAttention(4, 2), 0.2), [q3, kv3, kv3]))
    kpm = torch.tensor([[False, False, True, False, True], [False, False, False, False, False]])
    am = torch.tensor([[False, True, False, False, False], [False, False, False, True, False], [True, False, False, False, False]])
    cases.append(module_case('MHAMasks', lambda: randomize(nn.MultiheadAttention(4, 2, batch_first=True), 0.2),
                             [r(2, 3, 4), r(2, 5, 4), r(2, 5, 4), kpm, am],
                             call=lambda m, q, k, v, kp, a: m(q, k, v, key_padding_mask=kp, attn_mask=a, average_attn_weights=False)))
    cases.append(module_case('MHAKdimFloatMask', lambda: randomize(nn.MultiheadAttention(4, 1, kdim=3, vdim=2), 0.2),
                             [r(3, 2, 4), r(5, 2, 3), r(5, 2, 2), r(3, 5)],
                             call=lambda m, q, k, v, a: m(q, k, v, attn_mask=a, need_weights=False)[0]))
    cases.append(module_case('TransformerEncoderLayer', lambda: randomize(nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0), 0.2), [r(3, 2, 4)]))
    cases.append(module_case('TransformerEncoderLayerNormFirst',
                             lambda: randomize(nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation='gelu', batch_first=True, norm_first=True), 0.2),
                             [r(2, 3, 4), torch.tensor([[False, False, True], [False, False, False]])],
                             call=lambda m, x, kp: m(x, src_key_padding_mask=kp)))

    def encoder():
        layer = nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0)
        return randomize(nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(4)), 0.2)
    cases.append(module_case('TransformerEncoder', encoder, [r(3, 2, 4), torch.triu(torch.full((3, 3), float('-inf')), 1)],
                             call=lambda m, x, mask: m(x, mask=mask)))
    cases.append(module_case('RNN', lambda: nn.RNN(3, 4), [r(5, 2, 3)]))
    cases.append(module_case('RNNRelu2', lambda: nn.RNN(3, 4, 2, nonlinearity='relu', batch_first=True), [r(2, 5, 3), r(2, 2, 4)]))
    cases.append(module_case('LSTM', lambda: nn.LSTM(3, 4), [r(5, 2, 3)]))
    cases.append(module_case('LSTMDeepBi', lambda: nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True), [r(2, 4, 3), r(4, 2, 4), r(4, 2, 4)],
                             call=lambda m, x, h, c: m(x, (h, c))))
    cases.append(module_case('GRU', lambda: nn.GRU(3, 4), [r(5, 2, 3)]))
    cases.append(module_case('GRUDeepBi', lambda: nn.GRU(3, 4, 2, bidirectional=True), [r(4, 2, 3), r(4, 2, 4)]))
    cases.append(module_case('GRUUnbatched', lambda: nn.GRU(3, 4, bias=False), [r(4, 3)]))
    cases.append(module_case('GRUBatchFirstHidden', lambda: nn.GRU(2, 3, batch_first=True), [r(2, 3, 2), r(1, 2, 3)]))
    cases.append(module_case('LSTMUnbatchedHidden', lambda: nn.LSTM(2, 3, 2), [r(3, 2), r(2, 3), r(2, 3)],
                             call=lambda m, x, h, c: m(x, (h, c))))
    cases.append(module_case('Dropout2d eval', lambda: nn.Dropout2d(0.5), [r(2, 3, 2, 2)], train=False))
    return cases


def losses():
    torch.manual_seed(1)
    r = torch.randn
    cases = []
    x, y = r(4, 3), r(4, 3)
    for red in ['mean', 'sum', 'none']:
        cases.append(fn_case(f'mse_{red}', lambda a, b, red=red: F.mse_loss(a, b, reduction=red), [x, y]))
        cases.append(fn_case(f'l1_{red}', lambda a, b, red=red: F.l1_loss(a, b, reduction=red), [x, y]))
    cases.append(fn_case('smooth_l1', lambda a, b: F.smooth_l1_loss(a, b, beta=0.5), [x * 2, y]))
    cases.append(fn_case('huber', lambda a, b: F.huber_loss(a, b, delta=0.7), [x * 2, y]))
    logits = r(5, 4) * 2
    t = torch.tensor([0, 3, 1, 1, 2])
    w = torch.rand(4) + 0.2
    cases.append(fn_case('cross_entropy', lambda a, b: F.cross_entropy(a, b), [logits, t]))
    for red in ['sum', 'none']:
        cases.append(fn_case(f'cross_entropy_{red}', lambda a, b, red=red: F.cross_entropy(a, b, reduction=red), [logits, t]))
    cases.append(fn_case('cross_entropy_weight', lambda a, b, c: F.cross_entropy(a, b, weight=c), [logits, t, w], grad=(0, 1)))
    ti = torch.tensor([0, -100, 1, 1, -100])
    cases.append(fn_case('cross_entropy_ignore', lambda a, b: F.cross_entropy(a, b), [logits, ti]))
    cases.append(fn_case('cross_entropy_ignore7', lambda a, b: F.cross_entropy(a, b, ignore_index=1), [logits, t]))
    cases.append(fn_case('cross_entropy_ls', lambda a, b: F.cross_entropy(a, b, label_smoothing=0.2), [logits, t]))
    cases.append(fn_case('cross_entropy_ls_weight_ignore', lambda a, b, c: F.cross_entropy(a, b, weight=c, label_smoothing=0.1, ignore_index=1), [logits, t, w], grad=(0, 1)))
    cases.append(fn_case('cross_entropy_ls_sum', lambda a, b: F.cross_entropy(a, b, label_smoothing=0.3, reduction='sum'), [logits, t]))
    cases.append(fn_case('cross_entropy_ls_none', lambda a, b: F.cross_entropy(a, b, label_smoothing=0.3, reduction='none'), [logits, ti]))
    probs = torch.softmax(r(5, 4), 1)
    cases.append(fn_case('cross_entropy_probs', lambda a, b: F.cross_entropy(a, b), [logits, probs]))
    cases.append(fn_case('cross_entropy_probs_ls_weight', lambda a, b, c: F.cross_entropy(a, b, weight=c, label_smoothing=0.2), [logits, probs, w], grad=(0, 1)))
    cases.append(fn_case('cross_entropy_kdim', lambda a, b: F.cross_entropy(a, b), [r(2, 3, 4), torch.tensor([[0, 2, 1, 1], [2, 2, 0, 1]])]))
    cases.append(fn_case('cross_entropy_1d', lambda a, b: F.cross_entropy(a, b), [r(4), torch.tensor(2)]))
    logp = torch.log_softmax(logits, 1)
    cases.append(fn_case('nll', lambda a, b: F.nll_loss(a, b), [logp, t]))
    cases.append(fn_case('nll_weight_ignore', lambda a, b, c: F.nll_loss(a, b, weight=c, ignore_index=3), [logp, t, w], grad=(0, 1)))
    p = torch.sigmoid(r(4, 3))
    tb = torch.rand(4, 3)
    cases.append(fn_case('bce', lambda a, b: F.binary_cross_entropy(a, b), [p, tb]))
    cases.append(fn_case('bce_weight_sum', lambda a, b, c: F.binary_cross_entropy(a, b, weight=c, reduction='sum'), [p, tb, torch.rand(3)], grad=(0, 1)))
    cases.append(fn_case('bce_logits', lambda a, b: F.binary_cross_entropy_with_logits(a, b), [r(4, 3) * 3, tb]))
    cases.append(fn_case('bce_logits_pos_weight', lambda a, b, c: F.binary_cross_entropy_with_logits(a, b, pos_weight=c), [r(4, 3) * 3, tb, torch.rand(3) + 0.5], grad=(0, 1)))
    lq = torch.log_softmax(r(3, 4), 1)
    pt = torch.softmax(r(3, 4), 1)
    pt[0, 1] = 0.0
    cases.append(fn_case('kl_div_batchmean', lambda a, b: F.kl_div(a, b, reduction='batchmean'), [lq, pt], grad=(0,)))
    cases.append(fn_case('kl_div_sum_log_target', lambda a, b: F.kl_div(a, b, reduction='sum', log_target=True), [lq, torch.log_softmax(r(3, 4), 1)]))
    cases.append(fn_case('cosine_similarity', lambda a, b: F.cosine_similarity(a, b), [r(4, 5), r(4, 5)]))
    cases.append(fn_case('cosine_similarity_dim0', lambda a, b: F.cosine_similarity(a, b, dim=0), [r(4, 5), r(4, 5)]))
    q, k, v = r(2, 3, 4), r(2, 5, 4), r(2, 5, 6)
    cases.append(fn_case('sdpa', lambda a, b, c: sdpa_ref(a, b, c), [q, k, v], note='formula'))
    cases.append(fn_case('sdpa_causal', lambda a, b, c: sdpa_ref(a, b, c, is_causal=True), [r(2, 4, 4), r(2, 4, 4), r(2, 4, 3)], note='formula'))
    mask = torch.tensor([[True, False, True, True, True], [True, True, False, False, True], [False, True, True, True, True]])
    cases.append(fn_case('sdpa_bool_mask', lambda a, b, c, m: sdpa_ref(a, b, c, attn_mask=m), [q, k, v, mask], note='formula'))
    cases.append(fn_case('sdpa_float_mask_scale', lambda a, b, c, m: sdpa_ref(a, b, c, attn_mask=m, scale=0.3), [q, k, v, r(3, 5)], note='formula'))
    return cases


def errors():
    """Error messages checked verbatim."""
    out = {}
    try:
        nn.Linear(30, 10)(torch.randn(64, 20))
    except RuntimeError as e:
        out['linear'] = str(e)
    try:
        F.cross_entropy(torch.randn(3, 5), torch.tensor([1, 7, 0]))
    except IndexError as e:
        out['cross_entropy_target'] = str(e)
    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    sd = m.state_dict()
    sd['2.weight'] = torch.zeros(2, 3)
    del sd['0.bias']
    sd['extra'] = torch.zeros(1)
    try:
        m.load_state_dict(sd)
    except RuntimeError as e:
        out['load_state_dict'] = str(e)
    # more calls that raise, each message as PyTorch words it (the test makes the same call in fusor)
    calls = {
        'conv2d_channels': lambda: nn.Conv2d(2, 4, 3)(torch.randn(2, 3, 5, 5)),
        'conv2d_dims': lambda: nn.Conv2d(2, 4, 3)(torch.randn(2, 5)),
        'embedding_range': lambda: nn.Embedding(5, 3)(torch.tensor([1, 5])),
        'batchnorm_one_value': lambda: nn.BatchNorm1d(3)(torch.randn(1, 3)),
        'batchnorm_dims': lambda: nn.BatchNorm2d(3)(torch.randn(2, 3)),
        'layernorm_shape': lambda: nn.LayerNorm(4)(torch.randn(2, 3)),
        'ce_batch': lambda: F.cross_entropy(torch.randn(3, 5), torch.tensor([1, 2])),
        'nll_target': lambda: F.nll_loss(torch.randn(3, 5), torch.tensor([1, 5, 0])),
        'ce_negative_target': lambda: F.cross_entropy(torch.randn(3, 5), torch.tensor([1, -2, 0])),
        'bce_size': lambda: F.binary_cross_entropy(torch.rand(4, 1), torch.rand(4)),
        'bce_logits_size': lambda: F.binary_cross_entropy_with_logits(torch.rand(4, 1), torch.rand(4)),
        'mha_embed': lambda: nn.MultiheadAttention(4, 2)(torch.randn(3, 2, 3), torch.randn(3, 2, 3), torch.randn(3, 2, 3)),
        'mha_heads': lambda: nn.MultiheadAttention(5, 2),
        'lstm_input': lambda: nn.LSTM(3, 4)(torch.randn(5, 2, 6)),
        'lstm_hidden': lambda: nn.LSTM(3, 4)(torch.randn(5, 2, 3), (torch.randn(1, 3, 4), torch.randn(1, 3, 4))),
        'groupnorm_groups': lambda: nn.GroupNorm(3, 4),
        'bilinear': lambda: nn.Bilinear(3, 4, 2)(torch.randn(5, 3), torch.randn(5, 3)),
        'maxpool_pad': lambda: nn.MaxPool2d(2, padding=2)(torch.randn(1, 1, 4, 4)),
        'unflatten': lambda: nn.Unflatten(1, (2, 4))(torch.randn(2, 6)),
        'linear_3d': lambda: nn.Linear(30, 10)(torch.randn(2, 4, 20)),
        'mse_shape': lambda: F.mse_loss(torch.randn(3, 4), torch.randn(3, 5)),
        'dropout_p': lambda: nn.Dropout(1.5),
        'transformer_nhead': lambda: nn.TransformerEncoderLayer(5, 2),
        'adaptive_pool_dims': lambda: nn.AdaptiveAvgPool2d(2)(torch.randn(4)),
    }
    import warnings
    for k, f in calls.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                f()
        except (RuntimeError, ValueError, IndexError, AssertionError) as e:
            out[k] = str(e)
        else:
            raise SystemExit(f'{k}: PyTorch raised nothing')
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    mods = modules()
    with open(os.path.join(OUT, 'nn-modules.json'), 'w') as f:
        json.dump({'torch': torch.__version__, 'cases': mods, 'errors': errors()}, f, separators=(',', ':'))
    ls = losses()
    with open(os.path.join(OUT, 'nn-losses.json'), 'w') as f:
        json.dump({'torch': torch.__version__, 'cases': ls}, f, separators=(',', ':'))
    print(f'{len(mods)} module cases, {len(ls)} loss cases')


if __name__ == '__main__':
    main()
