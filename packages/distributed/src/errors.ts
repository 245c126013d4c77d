/** torch.distributed's error classes. */

/** A misuse of the distributed API, or ranks that disagree about a collective (shapes, dtypes, order). */
export class DistError extends Error {
  override name = 'DistError';
}

/**
 * The communication library failed or a collective did not complete in time; the process group
 * is then unusable (PyTorch's DistBackendError): exit the process, mpirun ends the job.
 */
export class DistBackendError extends DistError {
  override name = 'DistBackendError';
}

/** The backend cannot run here: its library is missing (the message says how to enable it). */
export class DistBackendUnavailableError extends DistError {
  override name = 'DistBackendUnavailableError';
}
