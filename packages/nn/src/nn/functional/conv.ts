/** Convolution, pooling, padding and unfold: @fusor/tensor's implementations under nn.functional's names. */
import * as torch from '@fusor/tensor';

type TF = typeof torch.functional;
export const conv1d: TF['conv1d'] = torch.functional.conv1d;
export const conv2d: TF['conv2d'] = torch.functional.conv2d;
export const conv3d: TF['conv3d'] = torch.functional.conv3d;
export const convTranspose1d: TF['convTranspose1d'] = torch.functional.convTranspose1d;
export const convTranspose2d: TF['convTranspose2d'] = torch.functional.convTranspose2d;
export const convTranspose3d: TF['convTranspose3d'] = torch.functional.convTranspose3d;
export const maxPool1d: TF['maxPool1d'] = torch.functional.maxPool1d;
export const maxPool2d: TF['maxPool2d'] = torch.functional.maxPool2d;
export const maxPool3d: TF['maxPool3d'] = torch.functional.maxPool3d;
export const avgPool1d: TF['avgPool1d'] = torch.functional.avgPool1d;
export const avgPool2d: TF['avgPool2d'] = torch.functional.avgPool2d;
export const avgPool3d: TF['avgPool3d'] = torch.functional.avgPool3d;
export const adaptiveAvgPool1d: TF['adaptiveAvgPool1d'] = torch.functional.adaptiveAvgPool1d;
export const adaptiveAvgPool2d: TF['adaptiveAvgPool2d'] = torch.functional.adaptiveAvgPool2d;
export const adaptiveAvgPool3d: TF['adaptiveAvgPool3d'] = torch.functional.adaptiveAvgPool3d;
export const pad: TF['pad'] = torch.functional.pad;
export const unfold: TF['unfold'] = torch.functional.unfold;
