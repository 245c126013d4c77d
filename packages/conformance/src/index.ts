/**
 * @fusor/conformance: the backend-agnostic test suite. `runConformance(device)` registers every
 * golden case (values and gradients from PyTorch, error messages, compiled-vs-interpreted) as
 * vitest tests; `fuzz(device)` compares random fused graphs against the reference interpreter.
 */
export { runConformance, runCheck, checksOf, diagnoseCase, type ConformanceOptions } from './suite.js';
export { fuzz, type FuzzOptions, type FuzzReport, type FuzzFailure } from './fuzz.js';
export { OPS, opFor, type OpArgs, type OpFn, type Operand } from './ops.js';
export { KNOWN_BUGS, skipReason, dtypesOf, type Check, type SkipRule } from './skips.js';
export { TOLERANCE, LOOSER, toleranceFor, firstMismatch, type Tolerance } from './tolerance.js';
export { loadFixtures, parseFixture, decode, FIXTURE_DIR, type Case, type FixtureFile, type TensorData, type InputSpec } from './fixtures.js';
export { readTensor, readLeaves, interpretNode, hostToNumbers } from './read.js';
export { runSemantics, runProgram, loadPrograms, KNOWN_SEMANTIC_GAPS, type Program } from './semantics.js';
export { runMemoryChecks, mlpStep, heldMemory } from './memory.js';
export { runArguments, ARGUMENT_CASES, type ArgumentCase } from './arguments.js';
export { sineChainReference, SINE_CHAIN, excessOver } from './deep.js';
