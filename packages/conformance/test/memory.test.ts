/** The shared flat-memory checks on cpu (packages/tensor/test/memory.test.ts runs the 10,000-step synchronous loops). */
import { runMemoryChecks } from '../src/index.js';

runMemoryChecks('cpu', { steps: 1000 });
