/** Process groups and collectives on existing engines (MPI, NCCL), shaped like torch.distributed. */
export {};
