"""Golden strings for packages/tensor/src/format.ts, taken from PyTorch itself.

Run with a Python that has torch 1.13 (on this image: /usr/bin/python3):
    /usr/bin/python3 packages/tensor/scripts/gen_format_fixtures.py
Writes packages/tensor/test/fixtures/format.json. Each case holds the flat row-major
values, shape, dtype name, the suffixes a caller would pass (device / grad_fn /
requires_grad; dtype and size are derived by formatTensor), optional print options,
and `expected` = str(tensor). Floats encode nan/inf/-inf/-0.0 as strings; int64 values
beyond 2**53 are decimal strings (the test turns them into BigInt).
"""

import json
import math
import os

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "format.json")

DTYPES = {
    torch.float32: "float32",
    torch.float64: "float64",
    torch.float16: "float16",
    torch.bfloat16: "bfloat16",
    torch.int32: "int32",
    torch.int64: "int64",
    torch.int8: "int8",
    torch.uint8: "uint8",
    torch.bool: "bool",
}

cases = []


def encode(v, dtype):
    if dtype.is_floating_point:
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if v == 0 and math.copysign(1.0, v) < 0:
            return "-0"
        return v
    if dtype == torch.int64 and abs(v) > 2**53:
        return str(v)
    return v


def case(name, t, suffixes=(), options=None, device_suffix=False):
    """Record str(t). `suffixes` are what a caller would pass; grad suffixes are checked
    against the tensor so the expected string is real PyTorch output."""
    suffixes = list(suffixes)
    if t.grad_fn is not None:
        suffixes.append("grad_fn=<{}>".format(type(t.grad_fn).__name__))
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    if options:
        torch.set_printoptions(**options)
    try:
        if device_suffix:
            # Pretend the default device is CUDA so a CPU tensor prints device='cpu': this
            # exercises PyTorch's real ordering of the device suffix against dtype/grad.
            real = torch._C._get_default_device
            torch._C._get_default_device = lambda: "cuda"
            try:
                expected = str(t)
            finally:
                torch._C._get_default_device = real
            suffixes.insert(0, "device='cpu'")
        else:
            expected = str(t)
    finally:
        if options:
            torch.set_printoptions(profile="default")
    flat = t.detach().reshape(-1).tolist()
    cases.append(
        {
            "name": name,
            "values": [encode(v, t.dtype) for v in flat],
            "shape": list(t.shape),
            "dtype": DTYPES[t.dtype],
            "suffixes": suffixes,
            **({"options": options} if options else {}),
            "expected": expected,
        }
    )


torch.manual_seed(0)
nan, inf = float("nan"), float("inf")

# ---- 0-d scalars
case("scalar float integral", torch.tensor(3.0))
case("scalar float fraction", torch.tensor(2.5))
case("scalar float small -> sci", torch.tensor(1e-5))
case("scalar float big -> sci", torch.tensor(3e9))
case("scalar float 0.1 (float32)", torch.tensor(0.1))
case("scalar float64 0.1", torch.tensor(0.1, dtype=torch.float64))
case("scalar negative zero", torch.tensor(-0.0))
case("scalar zero", torch.tensor(0.0))
case("scalar nan", torch.tensor(nan))
case("scalar -inf", torch.tensor(-inf))
case("scalar int64", torch.tensor(-42))
case("scalar int32", torch.tensor(7, dtype=torch.int32))
case("scalar bool", torch.tensor(True))
case("scalar uint8", torch.tensor(200, dtype=torch.uint8))
case("scalar mean grad_fn", torch.tensor([1.0, 2.0, 6.0], requires_grad=True).mean())
case("scalar sum grad_fn float64", torch.tensor([1.5, 2.25], dtype=torch.float64, requires_grad=True).sum())

# ---- integer tensors
case("int64 zeros 4x3", torch.zeros(4, 3, dtype=torch.int64))
case("int64 arange", torch.arange(10))
case("int64 mixed widths", torch.tensor([1, -20, 300, -4000, 5]))
case("int64 huge", torch.tensor([2**62, -(2**63), 3, 2**53 + 1]))
case("int32 2x3", torch.tensor([[1, 2, 3], [-4, 50, 6]], dtype=torch.int32))
case("int8 extremes", torch.tensor([-128, 127, 0, 5], dtype=torch.int8))
case("uint8 3x2", torch.tensor([[0, 255], [17, 3], [100, 9]], dtype=torch.uint8))
case("int64 random 3-D", torch.randint(-1000, 1000, (2, 3, 4)))
case("int64 4-D", torch.arange(24).reshape(1, 2, 3, 4))
case("int64 wide wrap", torch.arange(0, 4000, 97))
case("int32 wide wrap 2-D", torch.randint(-10**6, 10**6, (2, 15), dtype=torch.int32))

# ---- bool
case("bool 1-D", torch.tensor([True, False, True]))
case("bool 2-D", torch.tensor([[True, False], [False, False]]))
case("bool wide", torch.arange(30) % 3 == 0)

# ---- float tensors: fixed / int / sci modes
case("float integral", torch.tensor([1.0, 2.0, 3.0]))
case("float integral with negative", torch.tensor([-1.0, 20.0, 300.0]))
case("float fixed", torch.tensor([1.5, 0.25, -3.125]))
case("float32 0.1 0.2 0.3", torch.tensor([0.1, 0.2, 0.3]))
case("float randn 1-D", torch.randn(7))
case("float randn 2-D", torch.randn(3, 4))
case("float randn 3-D", torch.randn(2, 3, 4))
case("float randn 4-D", torch.randn(2, 2, 2, 3))
case("float sci by small min", torch.tensor([1e-5, 1.0, 2.5]))
case("float sci by ratio", torch.tensor([0.5, 600.0, 1.25]))
case("float sci by max", torch.tensor([1.5e8, 2.25]))
case("float int-mode sci by ratio", torch.tensor([1.0, 10000.0]))
case("float int-mode sci by max", torch.tensor([2e8, 3e8]))
case("float int-mode ratio exactly 1000", torch.tensor([1.0, 1000.0]))
case("float fixed ratio just under 1000", torch.tensor([0.5, 499.75]))
case("float 1e8 boundary int", torch.tensor([1e8, 5e7]))
case("float64 fixed", torch.tensor([0.1, 0.2, 1 / 3], dtype=torch.float64))
case("float64 sci tiny", torch.tensor([1e-300, 1.0], dtype=torch.float64))
case("float64 sci huge", torch.tensor([1e300, -2.5e-3], dtype=torch.float64))
case("float64 denormal", torch.tensor([5e-324, 1.0], dtype=torch.float64))
case("float64 int-mode huge ratio", torch.tensor([1.0, 1e20], dtype=torch.float64))
case("float rounding ties", torch.tensor([0.03125, 0.15625, 1.00005, 2.5]))
case("float64 half-even .4f", torch.tensor([0.00015, 0.00025, 0.12345, 0.98765], dtype=torch.float64))
case("float rounds up to 10", torch.tensor([9.99996, 1.5]))
case("float sci rounds up", torch.tensor([9.99996e-5, 1.0]))
case("float negative small", torch.tensor([-0.001, -0.5, 0.75]))
case("float large magnitudes", torch.randn(4, 3) * 1e6)
case("float small magnitudes", torch.randn(3, 3) * 1e-6)

# ---- nan / inf / -0
case("float nan inf integral", torch.tensor([nan, 1.0, inf, -inf]))
case("float nan inf fixed", torch.tensor([nan, 1.5, -inf, 0.0]))
case("float nan inf sci", torch.tensor([nan, 1e-7, inf, 3.0]))
case("float all nonfinite", torch.tensor([nan, inf, -inf]))
case("float all zero", torch.zeros(2, 3))
case("float negative zero mixed", torch.tensor([-0.0, 0.0, 1.0]))
case("float negative zero fixed", torch.tensor([-0.0, 0.5, 0.0]))
case("float negative zero sci", torch.tensor([-0.0, 1e-9]))

# ---- half precision (printed as float32, named in the repr)
case("float16", torch.tensor([0.1, 1.5, -2.0, 65504.0], dtype=torch.float16))
case("float16 int", torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float16))
case("bfloat16", torch.tensor([0.1, 3.14159, -1e-3], dtype=torch.bfloat16))
case("bfloat16 sci", torch.tensor([1e10, 1.0], dtype=torch.bfloat16))

# ---- empty tensors
case("empty 1-D float", torch.tensor([]))
case("empty 1-D int64", torch.tensor([], dtype=torch.int64))
case("empty 0x3", torch.zeros(0, 3))
case("empty 2x0x4 int32", torch.zeros(2, 0, 4, dtype=torch.int32))
case("empty bool", torch.zeros(0, dtype=torch.bool))
case("empty float64 3x0", torch.zeros(3, 0, dtype=torch.float64))
case("empty requires_grad", torch.zeros(0, 2, requires_grad=True))

# ---- wrapping at linewidth
case("float wide 1-D wrap", torch.randn(25))
case("float wide 2-D rows wrap", torch.randn(3, 12))
case("float sci wide wrap", torch.randn(20) * 1e-5)
case("float64 wide wrap", torch.randn(18, dtype=torch.float64))

# ---- summarization
case("summarized 1-D float", torch.arange(2000, dtype=torch.float32) / 7)
case("summarized 1-D int", torch.arange(1001))
case("summarized 2-D", torch.randn(50, 40))
case("summarized 2-D narrow cols", torch.arange(1200).reshape(400, 3))
case("summarized 2-D wide", torch.arange(3 * 500).reshape(3, 500))
case("summarized 3-D", torch.randn(10, 10, 11))
case("summarized 3-D int", torch.arange(4 * 20 * 20).reshape(4, 20, 20))
case("summarized 4-D", torch.randn(2, 8, 8, 9))
case("summarized sci mode from edges", torch.cat([torch.tensor([1e-6]), torch.ones(1500), torch.tensor([2.5])]))
case("not summarized at threshold", torch.arange(1000))
case("summarized bool", torch.arange(1500).reshape(30, 50) % 2 == 0)

# ---- suffixes
case("requires_grad 1-D", torch.tensor([1.0, 2.0, 3.0], requires_grad=True))
case("requires_grad 2-D", torch.randn(2, 3, requires_grad=True))
w = torch.tensor([1.5, -2.0, 0.25], requires_grad=True)
case("grad_fn mul", w * 2)
case("grad_fn add float64", torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True) + 1)
case("grad_fn on multi-line", torch.randn(3, 4, requires_grad=True).exp())
case("suffix wraps after long line", torch.tensor([1.2345, 2.3456, 3.4567, 4.5678, 5.6789, 6.789, 7.891, 8.912, 9.123], requires_grad=True))
case("suffix wraps on wrapped 1-D", torch.randn(20, requires_grad=True))
case("dtype and grad suffix wrap", torch.randn(9, dtype=torch.float64, requires_grad=True))
case("summarized with grad", torch.randn(40, 40, requires_grad=True))
case("device suffix float32", torch.tensor([1.0, 2.0]), device_suffix=True)
case("device suffix float64 grad", torch.tensor([1.5, 2.0], dtype=torch.float64, requires_grad=True) * 3, device_suffix=True)
case("device suffix empty int32", torch.zeros(0, 2, dtype=torch.int32), device_suffix=True)

# ---- print options
case("precision 2", torch.tensor([1.12345, -2.5, 3.0]), options={"precision": 2})
case("precision 0 sci", torch.tensor([12345.678, 1e-6]), options={"precision": 0})
case("precision 0 fixed half-even", torch.tensor([0.5, 1.5, 2.5, -3.5, 0.25]), options={"precision": 0})
case("precision 0 sci half-even", torch.tensor([0.5, 2.5, 3.5, 125.0]), options={"precision": 0, "sci_mode": True})
case("precision 1 fixed ties float64", torch.tensor([0.25, 0.75, 0.125, 1.05], dtype=torch.float64), options={"precision": 1})
case("forced sci_mode", torch.tensor([1.5, 2.25]), options={"sci_mode": True})
case("forced sci_mode integral", torch.tensor([1.0, 20.0]), options={"sci_mode": True})
case("forced sci_mode all zero ignored", torch.zeros(3), options={"sci_mode": True})
case("forced fixed for tiny", torch.tensor([1e-6, 1.0]), options={"sci_mode": False})
case("forced fixed int-mode huge", torch.tensor([1e20, 1.0], dtype=torch.float64), options={"sci_mode": False})
case("threshold 5 edgeitems 2", torch.arange(10), options={"threshold": 5, "edgeitems": 2})
case("short profile", torch.randn(30, 30), options={"profile": "short"})
case("linewidth 40", torch.randn(12), options={"linewidth": 40})
case("linewidth 40 suffix", torch.randn(3, requires_grad=True), options={"linewidth": 40})
case("full profile", torch.arange(1100).reshape(2, 550) % 10, options={"profile": "full"})

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
    f.write("\n")
print("wrote {} cases to {}".format(len(cases), os.path.normpath(OUT)))
