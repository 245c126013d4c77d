/** PyTorch's storage semantics (views, in-place ops, versions, detach, no_grad) on the cpu backend. */
import { runSemantics } from '../src/index.js';

runSemantics('cpu');
