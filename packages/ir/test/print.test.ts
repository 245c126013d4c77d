import { describe, expect, it } from 'vitest';
import { binaryNode, bufferNode, constNode, permuteNode, printGraph, reduceNode, toDot, unaryNode } from '../src/index.js';

describe('printGraph', () => {
  it('prints one line per node, numbered sources first, with dtype[shape], sources and argument', () => {
    const a = bufferNode('float32', [4, 3], 'cpu');
    const c = constNode(2, 'float32', [4, 3], 'cpu');
    const m = binaryNode('MUL', a, c);
    const r = reduceNode(permuteNode(m, [1, 0]), 'add', [1]);
    expect(printGraph(r)).toBe(
      [
        '%0 = BUFFER float32[4,3] buffer #0',
        '%1 = CONST float32[4,3] 2',
        '%2 = MUL float32[4,3] (%0, %1)',
        '%3 = PERMUTE float32[3,4] (%2) [1,0]',
        '%4 = REDUCE float32[3,1] (%3) {"reduce":"add","axes":[1]}',
      ].join('\n'),
    );
  });

  it('marks non-cpu devices, prints shared nodes once, and takes several roots', () => {
    const x = bufferNode('float16', [], 'webgpu');
    const n = unaryNode('NEG', x);
    const s = binaryNode('ADD', n, n);
    const text = printGraph([s, n]);
    const lines = text.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toBe('%1 = NEG float16[] (%0) @webgpu');
    expect(lines[2]).toBe('%2 = ADD float16[] (%1, %1) @webgpu');
    expect(printGraph(s)).toBe(text);
  });
});

describe('toDot', () => {
  it('emits a digraph with one box per node and one edge per source', () => {
    const a = bufferNode('float32', [2], 'cpu');
    const n = unaryNode('SQRT', a);
    const dot = toDot(n);
    expect(dot.startsWith('digraph fusor {\n')).toBe(true);
    expect(dot.endsWith('\n}')).toBe(true);
    expect(dot).toContain(`  n${a.id} -> n${n.id};`);
    expect(dot).toContain(`  n${n.id} [label="SQRT\\nfloat32[2]"];`);
    expect(dot).toContain(`  n${a.id} [label="BUFFER {'buffer':${(a.arg as { buffer: number }).buffer}}\\nfloat32[2]"];`);
  });
});
