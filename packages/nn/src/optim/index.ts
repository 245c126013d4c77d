/** torch.optim: optimizers, `optim.lrScheduler`, and gradient clipping (re-exported by nn.utils). */
export { Optimizer, type ParamGroup, type ParamGroupSpec, type ParamsArg, type ParamState, type OptimizerStateDict } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { RMSprop, type RMSpropOptions } from './rmsprop.js';
export { Adagrad, type AdagradOptions } from './adagrad.js';
export { clipGradNorm_, clipGradValue_ } from './clip.js';
export * as lrScheduler from './lr-scheduler.js';
