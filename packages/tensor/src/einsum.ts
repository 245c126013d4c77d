/**
 * torch.einsum as permutes, broadcasts, one multiply and one sum per pair of operands: each
 * pairwise product is the REDUCE(MUL) contraction the compiler hands to its GEMM routine.
 */
import { ShapeError } from '@fusor/ir';
import * as E from './elementwise.js';
import * as R from './reduce.js';
import type { Tensor } from './tensor.js';

interface Term {
  t: Tensor;
  letters: string[];
}

const isLetter = (c: string): boolean => /^[a-zA-Z]$/.test(c);

/** An operand viewed with its dims in `order` (letters it lacks become size-1 dims). */
function align(term: Term, order: readonly string[]): Tensor {
  const perm = term.letters.map((_, i) => i).sort((a, b) => order.indexOf(term.letters[a]!) - order.indexOf(term.letters[b]!));
  const sorted = term.t.permute(perm);
  const sortedLetters = perm.map((i) => term.letters[i]!);
  return sorted.reshape(order.map((l) => (sortedLetters.includes(l) ? sorted.shape[sortedLetters.indexOf(l)]! : 1)));
}

export function einsum(equation: string, ...operands: (Tensor | readonly Tensor[])[]): Tensor {
  const tensors = (operands.length === 1 && Array.isArray(operands[0]) ? operands[0] : operands) as Tensor[];
  const eq = equation.replace(/\s+/g, '');
  if (eq.includes('.')) throw new RangeError('einsum(): ellipsis ("...") is not supported by fusor yet; write the dims out');
  const [lhs, rhs] = eq.split('->') as [string, string | undefined];
  const inputs = lhs.split(',');
  if (inputs.length !== tensors.length) throw new RangeError('einsum(): more operands were provided than specified in the equation');
  const terms: Term[] = inputs.map((spec, i) => {
    const letters = [...spec];
    for (const c of letters) if (!isLetter(c)) throw new SyntaxError(`einsum(): invalid subscript given at index ${lhs.indexOf(c)} in the equation string, subscripts must be in [a-zA-Z]`);
    const t = tensors[i]!;
    if (letters.length !== t.ndim) {
      throw new RangeError(`einsum(): the number of subscripts in the equation (${letters.length}) does not match the number of dimensions (${t.ndim}) for operand ${i} and no ellipsis was given`);
    }
    if (new Set(letters).size !== letters.length) throw new RangeError('einsum(): repeated subscripts within one operand (a diagonal) are not supported by fusor yet');
    return { t, letters };
  });
  const counts = new Map<string, number>();
  for (const term of terms) for (const l of term.letters) counts.set(l, (counts.get(l) ?? 0) + 1);
  const output = rhs === undefined ? [...counts.keys()].filter((l) => counts.get(l) === 1).sort() : [...rhs];
  for (const l of output) {
    if (!counts.has(l)) throw new RangeError(`einsum(): output subscript ${l} does not appear in the equation for any input operand`);
  }
  if (new Set(output).size !== output.length) throw new RangeError('einsum(): output subscript appears more than once in the output');
  // sizes agree (or broadcast from 1)
  const size = new Map<string, number>();
  terms.forEach((term) =>
    term.letters.forEach((l, k) => {
      const s = term.t.shape[k]!;
      const prev = size.get(l);
      if (prev !== undefined && prev !== s && prev !== 1 && s !== 1) {
        throw new ShapeError(`einsum(): operands do not broadcast with remapped shapes (original->remapped): subscript ${l} has sizes ${prev} and ${s}`);
      }
      size.set(l, Math.max(prev ?? s, s));
    }),
  );
  // fold left to right: after each product, sum the letters no later operand nor the output needs
  let acc: Term = terms[0]!;
  const sumAway = (term: Term, later: readonly Term[]): Term => {
    const needed = new Set([...output, ...later.flatMap((t) => t.letters)]);
    const gone = term.letters.map((l, i) => (needed.has(l) ? -1 : i)).filter((i) => i >= 0);
    if (gone.length === 0) return term;
    return { t: R.sum(term.t, gone, false), letters: term.letters.filter((l) => needed.has(l)) };
  };
  acc = sumAway(acc, terms.slice(1));
  for (let i = 1; i < terms.length; i++) {
    const next = terms[i]!;
    const order = [...new Set([...acc.letters, ...next.letters])];
    const product = E.mul(align(acc, order), align(next, order));
    acc = sumAway({ t: product, letters: order }, terms.slice(i + 1));
  }
  // to the output's order
  const perm = output.map((l) => acc.letters.indexOf(l));
  return acc.t.permute(perm);
}
