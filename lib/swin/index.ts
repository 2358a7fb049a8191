/** tn.swin: the window ops of Swin Transformer (partition, shift, mask, relative position bias, window attention, patch merging) and its modules (PatchEmbed ... SwinTransformer, swinT/S/B). */
export {
  windowPartition,
  windowReverse,
  rollAndWindowPartition,
  windowMergeAndRoll,
  shiftedWindowMask,
  relativePositionIndex,
  padToWindow,
  stageWindow,
  patchMerge,
  patchUnmerge,
} from './window';
export type { ShiftedWindowMaskOptions, PaddedToWindow, StageWindow } from './window';
export { windowAttention, windowAttentionAsync } from './window_attention';
export type { WindowAttentionOptions } from './window_attention';
export { DropPath, PatchEmbed, WindowAttention, WindowAttentionV2, Mlp, SwinTransformerBlock, PatchMerging, BasicLayer, SwinTransformer, SwinTransformerV2, swinT, swinS, swinB } from './modules';
export type {
  PatchEmbedOptions,
  WindowAttentionModuleOptions,
  SwinTransformerBlockOptions,
  BasicLayerOptions,
  SwinTransformerOptions,
  SwinLoadStateDictOptions,
} from './modules';
