"""One training epoch of examples/fashion-mnist.mjs's small CNN in PyTorch (Conv2d(1,16,5)→ReLU→
MaxPool2d(2)→Conv2d(16,32,5)→ReLU→MaxPool2d(2)→Flatten→Linear(512,10), batch 64, Adam 1e-3, shuffled DataLoader), the same data: its time and the process RSS across it.
Last stdout line: JSON.   /usr/bin/python3 torch_epoch.py '{"threads": 2, "steps": null}'"""
import gzip
import json
import os
import struct
import sys
import time

import torch

cfg = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
torch.set_num_threads(cfg.get('threads', 2))
limit = cfg.get('steps') or float('inf')
ROOT = '/usr/share/datasets/fashion-mnist'
BATCH = 64


def idx(path):
    with gzip.open(path, 'rb') as f:
        raw = f.read()
    nd = raw[3]
    dims = struct.unpack('>' + 'I' * nd, raw[4:4 + 4 * nd])
    return torch.frombuffer(bytearray(raw[4 + 4 * nd:]), dtype=torch.uint8).reshape(dims)


def rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


class FashionMNIST(torch.utils.data.Dataset):
    """The images as uint8 and ToTensor's scaling per batch, as fusor's dataset does."""

    def __init__(self):
        self.x = idx(f'{ROOT}/train-images-idx3-ubyte.gz')
        self.y = idx(f'{ROOT}/train-labels-idx1-ubyte.gz').long()

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i].float().div(255).unsqueeze(0), self.y[i]


torch.manual_seed(0)
real = os.path.exists(f'{ROOT}/train-images-idx3-ubyte.gz')
ds = FashionMNIST() if real else torch.utils.data.TensorDataset(torch.rand(60000, 1, 28, 28), torch.randint(0, 10, (60000,)))
loader = torch.utils.data.DataLoader(ds, batch_size=BATCH, shuffle=True, generator=torch.Generator().manual_seed(0))
nn = torch.nn
model = nn.Sequential(
    nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(32 * 4 * 4, 10),
)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
samples = []
step = 0
first = None
t0 = time.perf_counter()
c0 = time.process_time()
for x, y in loader:
    loss = torch.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if step == 0:
        first = loss.item()
    if step % 50 == 0:
        samples.append(rss())
    step += 1
    if step >= limit:
        break
ms = (time.perf_counter() - t0) * 1000
cpu_ms = (time.process_time() - c0) * 1000
samples.append(rss())
after = samples[2:] or samples
mib = lambda b: b / 2 ** 20
print(json.dumps({'version': torch.__version__, 'results': {'epoch': {
    'median_ms': ms, 'cpu_ms': cpu_ms, 'steps': step, 'batch': BATCH, 'data': 'fashion-mnist' if real else 'random', 'first_loss': first,
    'rss_mib': {'min': mib(min(after)), 'max': mib(max(after))}}}}))
