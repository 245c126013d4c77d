/** Arguments never misread, tensor clamp bounds, detach/noGrad and pow gradients as PyTorch, on the cpu backend. */
import { runArguments } from '../src/index.js';

runArguments('cpu');
