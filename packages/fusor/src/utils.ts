/** torch.utils: `torch.utils.data` (Dataset, DataLoader …) lives in @fusor/nn. */
export { data } from '@fusor/nn';
