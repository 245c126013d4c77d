// Run under mpirun: every collective on deterministic per-rank values; prints one JSON line per rank.
import * as torch from '@fusor/tensor';
import * as dist from '@fusor/distributed';
import { report } from './report.mjs';
// where a collective's buffers are: to see that it reduced in place (white box)
import { readRegion, releaseRegions } from '../../dist/storage.js';

dist.initProcessGroup({ backend: 'mpi', timeout: 20_000 });
const rank = dist.getRank();
const world = dist.getWorldSize();
const out = { rank, world, initialized: dist.isInitialized(), backend: dist.getBackend() };
const base = () => torch.tensor([[rank + 1, 2 * rank - 1, 0.5], [rank * rank, -rank, 3]]);
const list = (t) => t.tolistSync();

for (const op of Object.values(dist.ReduceOp)) {
  if (op === 'band' || op === 'bor' || op === 'bxor') {
    const t = torch.tensor([rank + 1, 6, 1 << rank], { dtype: torch.int32 });
    dist.allReduce(t, op);
    out[`allReduce_${op}`] = list(t);
  } else {
    const t = base();
    dist.allReduce(t, { op });
    out[`allReduce_${op}`] = list(t);
  }
}
// in place as PyTorch: views of the tensor see the result; a collective on a view writes through
{
  const t = base();
  const flat = t.view(6);
  const row = t.select(0, 1);
  const v0 = t.version;
  dist.allReduce(t);
  out.viewsSee = [list(flat), list(row)];
  // one in-place write, as PyTorch's all_reduce bumps _version once (seen through a view too)
  out.versionBump = [t.version - v0, flat.version - v0];
  const b = base();
  dist.allReduce(b.select(0, 1), dist.ReduceOp.MAX);
  out.throughView = list(b);
}
// positional op, int64 and float64 dtypes, a lazy (unrealized) input, a transposed view as input
{
  const a = torch.arange(0, 4, { dtype: torch.long }).add(rank * 10);
  dist.allReduce(a, dist.ReduceOp.MAX);
  out.allReduce_int64_max = list(a);
  const d = torch.tensor([0.1 * (rank + 1), 1e-300], { dtype: torch.float64 });
  dist.allReduce(d);
  out.allReduce_f64 = Array.from(d.dataSync());
  const tr = base().t().contiguous().t();
  dist.allReduce(tr);
  out.allReduce_transposed = list(tr);
}
// the result reuses memory (the input's own computed buffer, in place; the previous version's
// buffer): lazy values recorded before the collective still read the old contents
{
  const t = torch.arange(0, 4).float().add(rank); // computed, realized by the collective itself
  const before = t.mul(10); // lazy, reads t's contents before the all-reduce
  dist.allReduce(t);
  const first = list(t);
  const afterFirst = t.add(0.5); // lazy, reads the first result
  t.copy_(torch.arange(0, 4).float().mul(rank + 1));
  dist.allReduce(t); // into the first result's buffer, which this commit releases anyway
  out.reuse = { before: list(before), first, afterFirst: list(afterFirst), second: list(t) };
  // the same tensor all-reduced again and again holds a bounded number of buffers
  const u = torch.ones(1000);
  for (let i = 0; i < 3; i++) dist.allReduce(u, dist.ReduceOp.AVG);
  const start = torch.memory();
  for (let i = 0; i < 40; i++) dist.allReduce(u, dist.ReduceOp.AVG);
  const end = torch.memory();
  out.repeated = { value: u.sum().itemSync(), buffers: end.buffers - start.buffers, bytes: end.bytes - start.bytes };
}
// a tensor whose value is a buffer nothing has read yet (copy_ just wrote it) is reduced in place,
// into that same memory; a detached alias sees the result. Once a lazy value reads it, the
// result goes elsewhere and that value keeps reading the old contents
{
  const offset = (t) => {
    const r = readRegion(t);
    const at = r.host.byteOffset;
    releaseRegions([r]);
    return at;
  };
  const t = torch.zeros(1024);
  t.copy_(torch.arange(0, 1024).float().add(rank));
  const where = offset(t);
  const alias = t.detach();
  const v0 = t.version;
  dist.allReduce(t);
  const u = torch.zeros(1024);
  u.copy_(torch.arange(0, 1024).float().add(rank));
  const before = u.mul(10);
  const whereU = offset(u);
  dist.allReduce(u);
  out.unread = {
    inPlace: offset(t) === where,
    versionBump: t.version - v0,
    t: list(t.narrow(0, 0, 4)),
    alias: list(alias.narrow(0, 0, 4)),
    readInPlace: offset(u) === whereU,
    u: list(u.narrow(0, 0, 4)),
    before: list(before.narrow(0, 0, 4)),
  };
}
// async all-reduce, work handle
{
  const t = base();
  const w = dist.allReduce(t, { op: dist.ReduceOp.SUM, asyncOp: true });
  const [f] = await w.getFuture();
  out.async_done = w.isCompleted() && w.isSuccess() && f === t && w.wait() === true;
  out.allReduce_async = list(t);
}
// broadcast from the last rank
{
  const t = base();
  dist.broadcast(t, world - 1);
  out.broadcast = list(t);
  const w = dist.broadcast(torch.tensor([rank]), { src: 0, asyncOp: true });
  w.wait();
}
// allGather into a list, allGatherIntoTensor
{
  const outs = Array.from({ length: world }, () => torch.zeros(2, 3));
  dist.allGather(outs, base());
  out.allGather = outs.map(list);
  const o = torch.zeros(2 * world, 3);
  dist.allGatherIntoTensor(o, base());
  out.allGatherIntoTensor = list(o);
}
// reduceScatter over a list and over one tensor
{
  const inputs = Array.from({ length: world }, (_, i) => torch.tensor([i * 100 + rank, rank], { dtype: torch.float32 }));
  const o = torch.zeros(2);
  dist.reduceScatter(o, inputs);
  out.reduceScatter = list(o);
  const big = torch.arange(0, 2 * world).float().mul(rank + 1);
  const o2 = torch.zeros(2);
  dist.reduceScatterTensor(o2, big, dist.ReduceOp.MAX);
  out.reduceScatterTensor = list(o2);
}
// barrier; point to point in a ring: send to the next rank, receive from the previous
{
  dist.barrier();
  const next = (rank + 1) % world;
  const prev = (rank + world - 1) % world;
  if (world > 1) {
    const sent = torch.tensor([rank, rank * 2, 7], { dtype: torch.float32 });
    const got = torch.zeros(3);
    if (rank % 2 === 0) {
      dist.send(sent, next);
      out.recvFrom = dist.recv(got, prev);
    } else {
      out.recvFrom = dist.recv(got, prev);
      dist.send(sent, next);
    }
    out.recv = list(got);
    // isend/irecv with a tag, receive from any rank
    const w1 = dist.isend(torch.tensor([rank + 0.5]), { dst: next, tag: 3 });
    const got2 = torch.zeros(1);
    const w2 = dist.irecv(got2, { tag: 3 });
    w2.wait();
    w1.wait();
    out.irecv = list(got2);
    // a message longer than the receiving tensor: a clear error on the receiver, the group lives on
    if (rank % 2 === 0) dist.send(torch.zeros(5), next, { tag: 9 });
    if (rank === 1 || (world === 3 && rank === 0)) {
      try {
        dist.recv(torch.zeros(2), prev, { tag: 9 });
        out.truncated = 'no error';
      } catch (e) {
        out.truncated = `${e.name}: ${e.message}`;
      }
    }
  }
}
// errors raised at the call, before any rank waits
const errors = {};
const tryIt = (name, fn) => {
  try {
    fn();
    errors[name] = 'no error';
  } catch (e) {
    errors[name] = `${e.name}: ${e.message}`;
  }
};
tryIt('badOp', () => dist.allReduce(torch.ones(2), 'mean'));
tryIt('badKey', () => dist.allReduce(torch.ones(2), { opp: 'sum' }));
tryIt('badSrc', () => dist.broadcast(torch.ones(2), world));
tryIt('avgInt', () => dist.allReduce(torch.ones(2, { dtype: torch.int32 }), dist.ReduceOp.AVG));
tryIt('twice', () => dist.initProcessGroup('mpi'));
tryIt('gatherList', () => dist.allGather([torch.zeros(2)], torch.zeros(2)));
out.errors = errors;
// shapes that differ across ranks: every rank gets the same clear error. The tensor (a plain
// buffer nothing else reads: the kind an all-reduce reduces in place) keeps its contents and
// version, as does one whose buffer the previous version held (reduced from into that buffer)
const kept = {};
const keeps = (name, t, call) => {
  const [before, version] = [Array.from(t.dataSync()), t.version];
  tryIt(name, call);
  kept[name] = { same: JSON.stringify(Array.from(t.dataSync())) === JSON.stringify(before), versionBump: t.version - version };
};
const lone = torch.zeros(rank === 1 ? 3 : 2);
lone.copy_(torch.full(lone.shape, rank + 1));
keeps('shapes', lone, () => dist.allReduce(lone));
out.shapeError = errors.shapes;
// ranks that call different collectives: rank 0 a barrier, the others an all-reduce (of a
// computed value, which an all-reduce also takes the buffer of)
const computed = torch.ones(2).mul(rank + 2);
computed.dataSync();
keeps('order', computed, () => (rank === 0 ? dist.barrier() : dist.allReduce(computed)));
out.orderError = errors.order;
// ranks that disagree on the root of a broadcast; a tensor updated in place twice (its previous
// version's buffer is free for the result)
const twice = torch.zeros(2);
twice.copy_(torch.full([2], 5));
twice.add_(rank);
keeps('root', twice, () => dist.broadcast(twice, rank === 0 ? 0 : 1));
out.rootError = errors.root;
const reused = torch.zeros(2);
reused.copy_(torch.full([2], 7));
const reader = reused.mul(1);
reused.add_(1);
keeps('reductionOp', reused, () => dist.allReduce(reused, rank === 0 ? 'sum' : 'max'));
out.reductionError = errors.reductionOp;
out.readerAfter = Array.from(reader.dataSync());
out.kept = kept;
dist.barrier();
report('RESULT', out);
dist.destroyProcessGroup();
out.afterDestroy = dist.isInitialized();
