"""PyTorch's answers for the argument and gradient cases of packages/conformance/src/arguments.ts
(run on every backend):
keyword arguments (fusor's options objects), tensor clamp bounds, empty dim lists, pow's
exponent gradient at negative bases, detach and no_grad in first and second order.

    /usr/bin/python3 packages/conformance/scripts/gen_arguments.py
"""
import json
import os

import torch

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(__file__), '..', 'programs', 'arguments.json')

x = torch.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
lo = torch.tensor([0.0, -1.0, 2.5])
hi = torch.tensor([[2.0], [4.5]])
out = {}
out['sum_keepdim_false'] = x.sum(1, keepdim=False).tolist()
out['sum_keepdim_true'] = x.sum(dim=1, keepdim=True).tolist()
out['sum_empty_dims'] = x.sum([]).tolist()
out['mean_dim_list'] = x.mean([0, 1], keepdim=True).tolist()
v, i = x.max(1, keepdim=False)
out['max_dim'] = [v.tolist(), i.tolist()]
v, i = x.min(dim=0, keepdim=True)
out['min_dim_keep'] = [v.tolist(), i.tolist()]
out['clamp_tensor'] = x.clamp(lo, hi).tolist()
out['clamp_min_tensor'] = x.clamp(min=lo).tolist()
out['clamp_max_tensor'] = x.clamp(max=hi).tolist()
xg = x.clone().requires_grad_()
lg = lo.clone().requires_grad_()
hg = hi.clone().requires_grad_()
(xg.clamp(lg, hg) * torch.arange(6.0).reshape(2, 3)).sum().backward()
out['clamp_tensor_grads'] = [xg.grad.tolist(), lg.grad.tolist(), hg.grad.tolist()]
out['std_correction'] = x.std(1, correction=0).tolist()
out['softmax_dtype'] = x.softmax(1, dtype=torch.float64).tolist()

# pow: the exponent's gradient is result * log(base): NaN at negative bases, 0 at base 0 with exponent >= 0
b = torch.tensor([-2.0, 0.0, 3.0, -1.5, 0.0])
e = torch.tensor([2.0, 3.0, 0.5, 3.0, -1.0], requires_grad=True)
bg = b.clone().requires_grad_()
(bg ** e).sum().backward()
out['pow_grads'] = {'base': [str(v) for v in bg.grad.tolist()], 'exponent': [str(v) for v in e.grad.tolist()]}

# detach and no_grad cut the graph
a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
a.detach().mul(a).sum().backward()
out['detach_grad'] = a.grad.tolist()
a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
with torch.no_grad():
    n = a * 2
(n * a).sum().backward()
out['nograd_grad'] = a.grad.tolist()
# second order: the detached factor is a constant for both differentiations
a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = (a.detach() * a ** 3).sum()
(g,) = torch.autograd.grad(y, a, create_graph=True)
(gg,) = torch.autograd.grad(g.sum(), a)
out['detach_second_order'] = [g.tolist(), gg.tolist()]

# diagonal and unfold are views: their layouts, and a write through them reaches the base
base = torch.arange(24.0).reshape(2, 3, 4)
layouts = []
for v in [base.diagonal(), base.diagonal(1, 1, 2), base.diagonal(-1, 2, 0), base.diagonal(5), base.unfold(2, 2, 1), base.unfold(1, 2, 2)]:
    layouts.append([list(v.shape), list(v.stride()), v.storage_offset()])
out['view_layouts'] = layouts
w = torch.arange(12.0).reshape(3, 4)
w.diagonal(1).mul_(10)
w.unfold(0, 1, 2).add_(100)
out['view_writes'] = w.tolist()
try:
    base.diagonal(0, 1, -2)
except RuntimeError as e:
    out['diagonal_same_dims'] = str(e)

with open(OUT, 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': out}, f, indent=1)
print('->', OUT)
